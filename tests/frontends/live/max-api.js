"use strict";
/**
 * STAND-IN for Max's "max-api" module (Node for Max), used only by the tests.
 *
 * In Max, node.script provides "max-api": messages arriving at the [node.script]
 * inlet call the handler registered for their first word, and outlet() sends a
 * message out of the object's left outlet. This stand-in does the same inside a
 * plain Node process: tests deliver messages with send() (as a patch would) and
 * observe every outlet() call. It implements the calls grym_node.js uses
 * (addHandler(s), outlet, post) and the enums; getDict/setDict are not modelled.
 */

const handlers = new Map();
const listeners = new Set();
const outlets = [];
const posts = [];

function addHandler(selector, fn) {
  handlers.set(String(selector), fn);
}

module.exports = {
  MAX_ENV: { MAX: "max", MAX_FOR_LIVE: "maxforlive", STANDALONE: "standalone" },
  MESSAGE_TYPES: { ALL: "all", BANG: "bang", DICT: "dict", LIST: "list", NUMBER: "number" },
  POST_LEVELS: { ERROR: "error", INFO: "info", WARN: "warn" },
  addHandler,
  addHandlers(map) {
    for (const [selector, fn] of Object.entries(map)) addHandler(selector, fn);
  },
  removeHandler(selector) {
    handlers.delete(String(selector));
  },
  outlet(...args) {
    outlets.push(args);
    for (const fn of listeners) fn(args);
    return Promise.resolve();
  },
  outletBang() {
    return module.exports.outlet("bang");
  },
  post(...args) {
    posts.push(args.join(" "));
  },
  getDict() {
    return Promise.reject(new Error("the max-api stand-in does not model dicts"));
  },
  setDict() {
    return Promise.reject(new Error("the max-api stand-in does not model dicts"));
  },

  // ---- test side: what the patch would do ----
  /**
   * Deliver a message to the script's inlet, as Max does: asynchronously, to the handler of its first
   * word. Resolves once the handler was called (Max does not wait for what the handler starts).
   */
  send(selector, ...args) {
    const fn = handlers.get(selector);
    if (!fn) throw new Error(`the script has no handler for '${selector}'`);
    return new Promise((resolve) => setImmediate(() => {
      fn(...args);
      resolve();
    }));
  },
  onOutlet(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  outlets,
  posts,
};
