"use strict";
/**
 * The grym device without Max or Live: the real grym_node.js (with the max-api
 * stand-in) wired to the real grym_lom.js (with the LiveAPI stand-in) the way
 * the patch wires them, talking to a real `grym serve` this harness starts.
 *
 * Environment (set by tests/frontends/test_live_node.py): GRYM_BIN (the grym
 * command), GRYM_TEST_CONFIG (a config file: data dir and allowed roots),
 * GRYM_PORT (a free port), GRYM_DEVICE_SCRIPT (optional: another build of the
 * node script, e.g. the one bundled into grym.amxd).
 */

const Module = require("module");
const path = require("path");
const { spawn } = require("child_process");

const STAND_IN = path.join(__dirname, "max-api.js");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === "max-api" ? STAND_IN : resolve.call(this, request, ...rest);
};
const maxApi = require("max-api");
const { LiveSet, loadLomScript } = require("./live_api");

const PORT = Number(process.env.GRYM_PORT);

/** A real `grym serve` on PORT; start() again after kill() restarts it on the same port. */
class Server {
  start() {
    this.output = "";
    this.proc = spawn(process.env.GRYM_BIN, ["--config", process.env.GRYM_TEST_CONFIG, "serve", "--osc-port", String(PORT)],
      { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout.on("data", (d) => { this.output += d; });
    this.proc.stderr.on("data", (d) => { this.output += d; });
    this.exited = new Promise((r) => this.proc.on("exit", r));
    return this;
  }

  signal(name) {
    this.proc.kill(name);
  }

  async kill() {
    this.proc.kill("SIGKILL");
    await this.exited;
  }
}

/** The device: UI state as the patch's displays would show it, and the Live set it sits in. */
class Device {
  constructor(live) {
    this.live = live;
    this.ui = {};
    this.history = [];
    this.waiters = new Set();
    this.lom = loadLomScript(live, (args) => setImmediate(() => maxApi.send(args[0], ...args.slice(1))));
    maxApi.onOutlet((args) => {
      if (args[0] === "lom") {
        setImmediate(() => this.lom[args[1]](args[2]));  // [route lom] -> [js grym_lom.js]
      } else if (args[0] === "ui") {
        this.ui[args[1]] = args.slice(2).join(" ");
        this.history.push([args[1], this.ui[args[1]]]);
      }
      for (const w of [...this.waiters]) w();
    });
    require(process.env.GRYM_DEVICE_SCRIPT || path.join(__dirname, "..", "..", "..", "max_for_live", "grym_node.js"));
    this.lom.bang();  // [live.thisdevice] says the LOM is ready
  }

  send(selector, ...args) {
    return maxApi.send(selector, ...args);
  }

  /** Resolve once predicate(ui) holds; fail with the UI's state after `seconds`. */
  waitFor(predicate, seconds = 20, what = "the expected display") {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.ui)) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(this.ui);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${what} did not show within ${seconds} s; the device shows ${JSON.stringify(this.ui)}`));
      }, seconds * 1000);
      this.waiters.add(check);
      check();
    });
  }

  /** Press a button and wait until its action has ended (the script says `done <action>`). */
  async press(action, seconds = 30) {
    const ended = this.ended(action, seconds);
    await this.send(action);
    await ended;
    return this.ui;
  }

  /** Resolves when the next `done <action>` shows. */
  ended(action, seconds = 30) {
    const start = this.history.length;
    return this.waitFor(() => this.history.slice(start).some(([f, v]) => f === "done" && v === action), seconds,
      `the end of ${action}`);
  }
}

module.exports = { Server, Device, LiveSet, maxApi, PORT };
