"use strict";
// grym_lom.js (the device's [js] LOM script) under Node, against the LiveAPI stand-in in live_api.js.
// Run: node --test tests/frontends/live/lom.test.js (pytest runs it: tests/frontends/test_live_node.py).

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { LiveSet, loadLomScript } = require("./live_api");

const WAV = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "grym-lom-")), "gen.wav");
fs.writeFileSync(WAV, "RIFF");  // create_audio_clip only needs the file to exist in the stand-in

function setup(options) {
  const live = new LiveSet(options);
  const out = [];
  const scope = loadLomScript(live, (args) => out.push(args));
  const call = (op, params = {}) => {
    const before = out.length;
    scope.request(JSON.stringify({ id: 7, op, ...params }));
    const reply = out.slice(before).find((a) => a[0] === "lom_reply");
    assert.ok(reply, `no lom_reply for ${op}`);
    const parsed = JSON.parse(reply[1]);
    assert.equal(parsed.id, 7);
    return parsed;
  };
  return { live, out, scope, call };
}

const tracks = () => [
  { name: "Drums", midi: false, slots: [{ name: "loop", audio: true, file_path: "/music/loop.wav", length: 8 }, null, null] },
  { name: "Keys", midi: true, slots: [{ name: "old", audio: false, length: 4, notes: [] }, null] },
];

test("the script is ES5 for Max's [js] engine: no let/const, arrows, classes or template strings", () => {
  const source = fs.readFileSync(path.join(__dirname, "..", "..", "..", "max_for_live", "grym_lom.js"), "utf8")
    .replace(/\/\/.*$/gm, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const [pattern, what] of [[/\blet\s/, "let"], [/\bconst\s/, "const"], [/=>/, "arrow functions"],
    [/\bclass\s/, "classes"], [/`/, "template strings"], [/\.\.\./, "spread"]]) {
    assert.ok(!pattern.test(source), `grym_lom.js uses ${what}`);
  }
});

test("detail_clip gives the selected audio clip's file, null when nothing is selected", () => {
  const { live, call } = setup({ tracks: tracks(), detail: [0, 0] });
  assert.deepEqual(call("detail_clip").result, { name: "loop", is_audio: true, file_path: "/music/loop.wav", length: 8 });
  live.detail = [1, 0];
  assert.equal(call("detail_clip").result.file_path, null);
  live.detail = null;
  assert.equal(call("detail_clip").result, null);
});

test("song context: tempo and meter; the key from Live 12's scale only when Scale Mode is on", () => {
  let { call } = setup({ version: [12, 1, 0], tempo: 97, numerator: 6, denominator: 8, rootNote: 9, scaleName: "Minor", scaleMode: 1 });
  assert.deepEqual(call("song").result, { tempo: 97, time_signature: "6/8", key: "A minor", live_version: "12.1.0" });
  ({ call } = setup({ version: [12, 1, 0], rootNote: 2, scaleName: "Dorian", scaleMode: 1 }));
  assert.equal(call("song").result.key, "D minor");
  ({ call } = setup({ version: [12, 1, 0], rootNote: 7, scaleName: "Mixolydian", scaleMode: 1 }));
  assert.equal(call("song").result.key, "G major");
  ({ call } = setup({ version: [12, 1, 0], rootNote: 9, scaleName: "Minor", scaleMode: 0 }));
  assert.equal(call("song").result.key, null);
  ({ call } = setup({ version: [11, 3, 2], tempo: 120 }));  // Live 11 has no song scale: never asked for
  assert.deepEqual(call("song").result, { tempo: 120, time_signature: "4/4", key: null, live_version: "11.3.2" });
});

test("observers: the song is sent on load and again when tempo, meter or scale change, not otherwise", () => {
  const { live, out, scope } = setup({ version: [12, 0, 5], tempo: 120 });
  scope.bang();
  const songs = () => out.filter((a) => a[0] === "song").map((a) => JSON.parse(a[1]));
  assert.equal(songs().length, 1);
  live.setSong({ tempo: 128.5 });
  assert.equal(songs().at(-1).tempo, 128.5);
  live.setSong({ signature_numerator: 3 });
  assert.equal(songs().at(-1).time_signature, "3/4");
  live.setSong({ root_note: 4, scale_mode: 1 });
  assert.equal(songs().at(-1).key, "E major");
  const count = songs().length;
  live.setSong({ tempo: 128.5 });  // no change, no message
  assert.equal(songs().length, count);
});

test("write_notes makes a MIDI clip of the right length in the first empty slot of the selected MIDI track", () => {
  const { live, call } = setup({ version: [11, 0, 0], tracks: tracks(), selected: 1 });
  const notes = [{ pitch: 57, start_time: 0, duration: 1, velocity: 90 }, { pitch: 60, start_time: 1.5, duration: 0.5, velocity: 80 }];
  const reply = call("write_notes", { notes, length_beats: 16, name: "grym chords" });
  assert.deepEqual(reply.result, { track_name: "Keys", slot: 1, note_count: 2 });
  const clip = live.clipAt(1, 1);
  assert.equal(clip.length, 16);
  assert.equal(clip.name, "grym chords");
  assert.deepEqual(clip.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity, n.mute]),
    [[57, 0, 1, 90, 0], [60, 1.5, 0.5, 80, 0]]);
  assert.equal(live.clipAt(1, 0).name, "old", "an occupied slot is never touched");
});

test("write_notes refuses an audio track, a full track and Live 10, with a message saying what to do", () => {
  let { call } = setup({ tracks: tracks(), selected: 0 });
  assert.match(call("write_notes", { notes: [], length_beats: 4 }).error, /select a MIDI track/);
  ({ call } = setup({ tracks: [{ name: "Keys", midi: true, slots: [{ name: "x", audio: false, length: 4, notes: [] }] }] }));
  assert.match(call("write_notes", { notes: [], length_beats: 4 }).error, /no empty clip slot on Keys: add a scene/);
  ({ call } = setup({ version: [10, 1, 30], tracks: tracks(), selected: 1 }));
  assert.match(call("write_notes", { notes: [], length_beats: 4 }).error, /needs Live 11/);
});

test("create_audio_clip places the file on Live 12.0.5+, and says why not on older Live", () => {
  let { live, call } = setup({ version: [12, 0, 5], tracks: tracks(), selected: 0 });
  const reply = call("create_audio_clip", { path: WAV, name: "grym dusty loop" });
  assert.deepEqual(reply.result, { placed: true, track_name: "Drums", slot: 1 });
  assert.equal(live.clipAt(0, 1).file_path, WAV);
  assert.equal(live.clipAt(0, 1).name, "grym dusty loop");
  ({ live, call } = setup({ version: [12, 0, 4], tracks: tracks(), selected: 0 }));
  const old = call("create_audio_clip", { path: WAV });
  assert.equal(old.result.placed, false);
  assert.match(old.result.reason, /Live 12\.0\.4 cannot place audio clips/);
  assert.equal(live.calls.filter((c) => c[1] === "create_audio_clip").length, 0, "never calls what this Live lacks");
  ({ call } = setup({ version: [12, 1, 0], tracks: tracks(), selected: 1 }));
  assert.match(call("create_audio_clip", { path: WAV }).error, /select an audio track/);
});

test("set_clip_name renames the selected clip; unknown ops and bad JSON do not break the script", () => {
  const { live, call, scope } = setup({ tracks: tracks(), detail: [0, 0] });
  assert.equal(call("set_clip_name", { name: "loop [A minor 100bpm]" }).ok, true);
  assert.equal(live.clipAt(0, 0).name, "loop [A minor 100bpm]");
  assert.match(call("rm_rf").error, /unknown Live operation rm_rf/);
  scope.request("{not json");
  assert.match(scope.__posts.join(""), /unreadable request/);
});
