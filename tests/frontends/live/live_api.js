"use strict";
/**
 * STAND-IN for Ableton Live as Max's [js] object sees it: the LiveAPI class
 * (the Live Object Model) and the [js] globals (outlet, post, inlets, outlets).
 * Used only by the tests; the real thing runs inside Live.
 *
 * It models the part of the LOM grym_lom.js uses, with Live's documented rules:
 * paths `live_set`, `live_app`, `live_set view detail_clip`, `live_set view
 * selected_track`, `live_set tracks N [clip_slots M [clip]]`; `get` returns an
 * array; an empty path has id 0; Song `tempo`, `signature_numerator`,
 * `signature_denominator`, and (Live 12) `root_note`, `scale_name`, `scale_mode`;
 * Track `name`, `has_midi_input`, `has_audio_input`, `getcount("clip_slots")`;
 * ClipSlot `has_clip`, `create_clip(length)` (MIDI tracks, empty slots) and
 * `create_audio_clip(path)` (Live 12.0.5+, audio tracks, empty slots, an existing
 * file); Clip `name`, `is_audio_clip`, `is_midi_clip`, `file_path`, `length`,
 * `add_new_notes({notes: [...]})` (Live 11+, each note checked as Live checks it);
 * observers (`new LiveAPI(callback, path)` then `.property = name`), which
 * report once when set and on every change.
 */

const fs = require("fs");
const path = require("path");
const vm = require("vm");

class LiveSet {
  constructor({ version = [12, 1, 0], tempo = 120, numerator = 4, denominator = 4, rootNote = 0,
    scaleName = "Major", scaleMode = 0, tracks = [], selected = 0, detail = null } = {}) {
    this.version = version;
    this.song = { tempo, signature_numerator: numerator, signature_denominator: denominator,
      root_note: rootNote, scale_name: scaleName, scale_mode: scaleMode };
    this.tracks = tracks.map((t) => ({ name: t.name, midi: Boolean(t.midi), slots: (t.slots || [null, null]).slice() }));
    this.selected = selected;
    this.detail = detail;  // [track, slot] of the clip in Live's clip view, or null
    this.observers = [];
    this.calls = [];
  }

  /** Change song properties as the user would in Live; observers hear it. */
  setSong(changes) {
    Object.assign(this.song, changes);
    for (const obs of this.observers) {
      if (obs.prop in changes) obs.callback([obs.prop, changes[obs.prop]]);
    }
  }

  clipAt(t, s) {
    return this.tracks[t] && this.tracks[t].slots[s];
  }

  atLeast(wanted) {
    for (let i = 0; i < wanted.length; i++) if (this.version[i] !== wanted[i]) return this.version[i] > wanted[i];
    return true;
  }

  /** A LiveAPI class bound to this set, for the script's global scope. */
  liveApiClass() {
    const live = this;
    return class LiveAPI {
      constructor(a, b) {
        const callback = typeof a === "function" ? a : null;
        const p = callback ? b : a;
        this._callback = callback;
        this._target = live.resolve(String(p));
      }

      get id() { return this._target ? this._target.id : 0; }

      get unquotedpath() { return this._target ? this._target.path : ""; }

      get path() { return this._target ? `"${this._target.path}"` : ""; }

      set property(name) {
        if (!this._callback) throw new Error("property set on a LiveAPI without a callback");
        if (this._target.kind !== "song") throw new Error("the stand-in observes song properties only");
        const value = live.getProp(this._target, name);
        live.observers.push({ prop: name, callback: this._callback });
        this._callback([name, ...value]);
      }

      get(prop) { return live.getProp(this._target, prop); }

      set(prop, value) { live.setProp(this._target, prop, value); }

      call(fn, ...args) { return live.call(this._target, fn, args); }

      getcount(child) {
        if (this._target.kind !== "track" || child !== "clip_slots") throw new Error(`getcount ${child} not modelled`);
        return live.tracks[this._target.t].slots.length;
      }
    };
  }

  resolve(p) {
    const words = p.trim().split(/\s+/);
    const clipPath = (t, s) => ({ kind: "clip", t, s, id: 1000 + t * 100 + s, path: `live_set tracks ${t} clip_slots ${s} clip` });
    if (p === "live_set") return { kind: "song", id: 1, path: "live_set" };
    if (p === "live_app") return { kind: "app", id: 2, path: "live_app" };
    if (p === "live_set view detail_clip") {
      return this.detail && this.clipAt(...this.detail) ? clipPath(...this.detail) : null;
    }
    if (p === "live_set view selected_track") {
      return this.tracks[this.selected] ? { kind: "track", t: this.selected, id: 10 + this.selected, path: `live_set tracks ${this.selected}` } : null;
    }
    if (words[0] === "live_set" && words[1] === "tracks") {
      const t = Number(words[2]);
      if (!this.tracks[t]) return null;
      if (words.length === 3) return { kind: "track", t, id: 10 + t, path: `live_set tracks ${t}` };
      const s = Number(words[4]);
      if (words[3] !== "clip_slots" || s >= this.tracks[t].slots.length) return null;
      if (words.length === 5) return { kind: "slot", t, s, id: 500 + t * 100 + s, path: `live_set tracks ${t} clip_slots ${s}` };
      if (words[5] === "clip" && this.clipAt(t, s)) return clipPath(t, s);
      return null;
    }
    throw new Error(`path not modelled by the stand-in: ${p}`);
  }

  getProp(target, prop) {
    if (!target) throw new Error(`get ${prop} on id 0`);
    if (target.kind === "song") {
      if (["root_note", "scale_name", "scale_mode"].includes(prop) && !this.atLeast([12, 0, 0])) {
        throw new Error(`Song has no property ${prop} before Live 12`);
      }
      if (!(prop in this.song)) throw new Error(`Song.${prop} not modelled`);
      return [this.song[prop]];
    }
    if (target.kind === "track") {
      const track = this.tracks[target.t];
      const values = { name: track.name, has_midi_input: track.midi ? 1 : 0, has_audio_input: track.midi ? 0 : 1 };
      if (!(prop in values)) throw new Error(`Track.${prop} not modelled`);
      return [values[prop]];
    }
    if (target.kind === "slot") return prop === "has_clip" ? [this.clipAt(target.t, target.s) ? 1 : 0] : fail(prop);
    if (target.kind === "clip") {
      const clip = this.clipAt(target.t, target.s);
      const values = { name: clip.name, is_audio_clip: clip.audio ? 1 : 0, is_midi_clip: clip.audio ? 0 : 1,
        length: clip.length };
      if (prop === "file_path") {
        if (!clip.audio) throw new Error("file_path is only available for audio clips");
        return [clip.file_path];
      }
      if (!(prop in values)) throw new Error(`Clip.${prop} not modelled`);
      return [values[prop]];
    }
    return fail(prop);

    function fail(name) { throw new Error(`${target.kind}.${name} not modelled`); }
  }

  setProp(target, prop, value) {
    if (!target || target.kind !== "clip" || prop !== "name") throw new Error(`set ${prop} not modelled`);
    this.clipAt(target.t, target.s).name = String(value);
  }

  call(target, fn, args) {
    this.calls.push([target && target.path, fn, args]);
    if (target.kind === "app") {
      const i = { get_major_version: 0, get_minor_version: 1, get_bugfix_version: 2 }[fn];
      if (i === undefined) throw new Error(`Application.${fn} not modelled`);
      return this.version[i];
    }
    if (target.kind === "slot") {
      const track = this.tracks[target.t];
      if (track.slots[target.s]) throw new Error("clip slot is not empty");
      if (fn === "create_clip") {
        if (!track.midi) throw new Error("create_clip: not a MIDI track");
        if (!(args[0] > 0)) throw new Error("create_clip: length must be greater than 0");
        track.slots[target.s] = { name: "", audio: false, length: Number(args[0]), notes: [] };
        return undefined;
      }
      if (fn === "create_audio_clip") {
        if (!this.atLeast([12, 0, 5])) throw new Error("ClipSlot has no function create_audio_clip before Live 12.0.5");
        if (track.midi) throw new Error("create_audio_clip: not an audio track");
        if (!path.isAbsolute(args[0]) || !fs.existsSync(args[0])) throw new Error(`create_audio_clip: no audio file at ${args[0]}`);
        track.slots[target.s] = { name: path.basename(args[0]).replace(/\.[^.]+$/, ""), audio: true, file_path: args[0], length: 4 };
        return undefined;
      }
    }
    if (target.kind === "clip" && fn === "add_new_notes") {
      if (!this.atLeast([11, 0, 0])) throw new Error("Clip has no function add_new_notes before Live 11");
      const clip = this.clipAt(target.t, target.s);
      const dict = args[0];
      if (clip.audio) throw new Error("add_new_notes: not a MIDI clip");
      if (!dict || !Array.isArray(dict.notes)) throw new Error("add_new_notes takes a dictionary with a 'notes' list");
      for (const n of dict.notes) {
        if (!Number.isInteger(n.pitch) || n.pitch < 0 || n.pitch > 127) throw new Error(`bad pitch ${n.pitch}`);
        if (!(n.start_time >= 0) || !(n.duration > 0)) throw new Error(`bad start_time/duration ${n.start_time}/${n.duration}`);
        if (n.velocity !== undefined && !(n.velocity >= 0 && n.velocity <= 127)) throw new Error(`bad velocity ${n.velocity}`);
      }
      clip.notes.push(...dict.notes.map((n) => ({ ...n })));
      return undefined;
    }
    throw new Error(`${target.kind}.${fn} not modelled`);
  }
}

/**
 * Run grym_lom.js as Max's [js] object would, against `live`.
 * `onOutlet(args)` hears each outlet(0, ...) call; returns the script's global scope
 * (call its functions the way messages do: scope.bang(), scope.request(json)).
 */
function loadLomScript(live, onOutlet, file = path.join(__dirname, "..", "..", "..", "max_for_live", "grym_lom.js")) {
  const posts = [];
  const scope = {
    LiveAPI: live.liveApiClass(),
    outlet: (index, ...args) => onOutlet(args, index),
    post: (...args) => posts.push(args.join(" ")),
    JSON, Number, String, Array, Error, Object, Math,
  };
  vm.createContext(scope);
  vm.runInContext(fs.readFileSync(file, "utf8"), scope, { filename: file });
  scope.__posts = posts;
  return scope;
}

module.exports = { LiveSet, loadLomScript };
