"use strict";
// The grym device (grym_node.js + grym_lom.js) against a real `grym serve`, with stand-ins for Max's
// max-api and Live's LiveAPI (device_harness.js). Run by tests/frontends/test_live_node.py, which sets
// GRYM_BIN, GRYM_TEST_CONFIG, GRYM_PORT and GRYM_TEST_AUDIO (the clips it wrote).

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const { Server, Device, LiveSet, PORT } = require("./device_harness");
const { BridgeConnection } = require("../../../max_for_live/grym_osc");
const { Requests } = require("../../../max_for_live/grym_requests");

const audio = JSON.parse(process.env.GRYM_TEST_AUDIO);  // {clip: E minor at 100 bpm, long: 10 minutes of noise}
const A_MINOR = new Set([9, 11, 0, 2, 4, 5, 7]);

const live = new LiveSet({
  version: [12, 1, 0], tempo: 100, rootNote: 9, scaleName: "Minor", scaleMode: 1, selected: 0, detail: [0, 0],
  tracks: [
    { name: "Loops", midi: false, slots: [
      { name: "em loop", audio: true, file_path: audio.clip, length: 16 },
      { name: "long take", audio: true, file_path: audio.long, length: 1200 }, null, null] },
    { name: "Keys", midi: true, slots: [null, null] },
  ],
});
const server = new Server().start();
let device;
/** A second client of the bridge, to look at what the device did (the session) from outside. */
const probeConn = new BridgeConnection();
const probe = new Requests(probeConn, { replyTimeoutS: 5 });
probeConn.on("message", (a, args) => probe.handle(a, args));

async function session() {
  const [json] = await probe.call("/grym/session/get", []);
  return JSON.parse(json);
}

async function eventually(fn, seconds = 10) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test.before(async () => {
  device = new Device(live);
  probeConn.connect("127.0.0.1", PORT);
  await device.waitFor((ui) => /^1 grym /.test(ui.connected || ""), 60, "the connection");
});

test.after(async () => {
  probeConn.close();
  await server.kill();
  setImmediate(() => process.exit(0));  // the device reconnects forever, as it should in Live
});

test("connects, shows the bridge, and sends the song's tempo, meter and key, and every change", async () => {
  assert.match(device.ui.connected, new RegExp(`^1 grym \\d+\\.\\d+\\.\\d+ at 127\\.0\\.0\\.1:${PORT}$`));
  await eventually(async () => {
    const s = await session();
    assert.deepEqual([s.tempo, s.time_signature, s.key], [100, "4/4", "A minor"]);
  });
  live.setSong({ tempo: 123.5, signature_numerator: 3 });
  await eventually(async () => {
    const s = await session();
    assert.deepEqual([s.tempo, s.time_signature], [123.5, "3/4"]);
  });
  live.setSong({ tempo: 100, signature_numerator: 4 });
  await eventually(async () => assert.equal((await session()).time_signature, "4/4"));
});

test("Analyze shows key, tempo, LUFS and true peak, and writes them to the clip name and the session", async () => {
  await probe.call("/grym/session/set", ["key", ""]);
  await device.send("write_name", 1);
  await device.send("write_session", 1);
  const ui = await device.press("analyze");
  assert.equal(ui.error, "clear", `no error expected, got ${ui.error}`);
  assert.match(ui.analysis, /^E minor · 1\d\d\.\d bpm · -?\d+\.\d LUFS · TP -?\d+\.\d dBTP$/);
  const tempo = Number(ui.analysis.match(/(\d+\.\d) bpm/)[1]);
  assert.ok(Math.abs(tempo - 100) < 4, `tempo ${tempo}`);
  assert.match(live.clipAt(0, 0).name, /^em loop \[E minor 1\d\dbpm -?\d+LUFS\]$/);
  assert.equal((await session()).key, "E minor");
  await device.press("analyze");  // a second run replaces the tag rather than adding another
  assert.equal((live.clipAt(0, 0).name.match(/\[/g) || []).length, 1);
  await device.send("write_name", 0);
  await device.send("write_session", 0);
});

test("Compose writes the notes into a new MIDI clip, in the song's key, of the asked bars", async () => {
  live.selected = 1;
  await device.send("kind", 0);      // chords, as live.menu sends its index
  await device.send("style", "lofi");
  await device.send("bars", 4);
  const ui = await device.press("compose");
  assert.equal(ui.error, "clear", ui.error);
  const clip = live.clipAt(1, 0);
  assert.ok(clip, "a clip in the first empty slot of Keys");
  assert.equal(clip.length, 16);
  assert.equal(clip.name, "grym chords lofi A minor");
  const count = Number(ui.result.match(/^(\d+) notes, 4 bars in A minor \(lofi\), track Keys, slot 1/)[1]);
  assert.equal(clip.notes.length, count);
  assert.ok(count >= 8);
  for (const n of clip.notes) {
    assert.ok(A_MINOR.has(n.pitch % 12), `pitch ${n.pitch} is not in A minor`);
    assert.ok(n.start_time >= 0 && n.start_time + n.duration <= 16 + 1e-6, `note outside the clip: ${JSON.stringify(n)}`);
  }
  live.selected = 0;
});

test("Generate without model weights shows the bridge's error and how to get them; nothing is placed", async () => {
  await device.send("prompt", "dusty", "lofi", "drum", "loop");
  const ui = await device.press("generate");
  assert.match(ui.error, /^model_unavailable: .*grym models pull/);
  assert.equal(ui.status, "failed");
  assert.equal(ui.busy, "0");
  assert.deepEqual(live.tracks[0].slots.slice(2), [null, null]);
});

test("Suggest lists the reasons and Live's devices; Render A/B writes the loudness-matched pair", async () => {
  live.detail = [0, 0];
  await device.send("fx_style", "warm");
  let ui = await device.press("suggest", 60);
  assert.equal(ui.error, "clear", ui.error);
  assert.match(ui.result, /^1\. /);
  assert.match(ui.chain, /(EQ Eight|Compressor|Glue Compressor|Limiter|Utility|Reverb|Delay): /);
  ui = await device.press("render_ab", 60);
  assert.equal(ui.error, "clear", ui.error);
  const b = ui.result.match(/B \(suggested chain\): (\S+)/)[1];
  assert.ok(fs.existsSync(b), `${b} exists`);
  assert.notEqual(path.resolve(b), path.resolve(audio.clip));
});

test("Similar and Ask answer through the same protocol", async () => {
  let ui = await device.press("similar");
  assert.equal(ui.error, "clear", ui.error);
  assert.match(ui.status, /^\d+ similar clip\(s\)$/);
  await device.send("ask_text", "write", "a", "bassline", "in", "A", "minor");
  ui = await device.press("ask", 60);
  assert.equal(ui.error, "clear", ui.error);
  assert.ok(ui.result.length > 0);
});

test("Cancel stops a running job on the bridge and the device is free again", async () => {
  live.detail = [0, 1];  // ten minutes: seconds of analysis
  const ended = device.ended("analyze", 30);
  await device.send("analyze");
  await device.waitFor((ui) => /^queued as job \d+/.test(ui.status) || /^\d+%/.test(ui.status), 20, "the job");
  await device.send("cancel");
  await ended;
  assert.match(device.ui.error, /^cancelled: job \d+ was cancelled$/, "the bridge confirmed it");
  assert.equal(device.ui.status, "cancelled");
  assert.equal(device.ui.busy, "0");
  await eventually(async () => assert.deepEqual(JSON.parse((await probe.call("/grym/job/list", []))[0]), []));
  live.detail = [0, 0];
});

test("a bridge that stops answering times out with a clear error, and nothing stays stuck", async () => {
  await device.send("timeouts", 1, 2);
  server.signal("SIGSTOP");
  try {
    const t0 = Date.now();
    const ui = await device.press("analyze", 10);
    assert.match(ui.error, /^timeout: the bridge did not answer \/grym\/analyze\/file within 1 s/);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(ui.busy, "0");
  } finally {
    server.signal("SIGCONT");
    await device.send("timeouts", 10, 0);
  }
  await device.waitFor(() => true);
  const ui = await device.press("analyze");  // the late replies of the timed-out request are ignored
  assert.equal(ui.error, "clear", ui.error);
});

test("a bridge restart mid-job: the job's error is shown, the device reconnects and works again", async () => {
  live.detail = [0, 1];
  const ended = device.ended("analyze", 30);
  await device.send("analyze");
  await device.waitFor((ui) => /^queued as job \d+/.test(ui.status) || /^\d+%/.test(ui.status), 20, "the job");
  await server.kill();
  await ended;
  assert.match(device.ui.error, /^connection_lost: the bridge went away/);
  assert.equal(device.ui.busy, "0");
  await device.waitFor((ui) => /^0 /.test(ui.connected), 5, "the connection indicator going off");
  server.start();
  await device.waitFor((ui) => /^1 grym /.test(ui.connected), 60, "the reconnection");
  live.detail = [0, 0];
  const ui = await device.press("analyze");
  assert.equal(ui.error, "clear", ui.error);
  assert.match(ui.analysis, /^E minor/);
});

test("pressing Analyze with no clip selected says what to select, without asking the bridge", async () => {
  live.detail = null;
  const ui = await device.press("analyze");
  assert.match(ui.error, /^no_clip: select an audio clip first/);
  live.detail = [0, 0];
});
