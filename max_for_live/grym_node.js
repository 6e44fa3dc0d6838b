"use strict";
/**
 * The grym device's controller, run by [node.script grym_node.js @autostart 1].
 *
 * It speaks the bridge's public OSC protocol (grym_osc.js, grym_requests.js)
 * and drives the device: the buttons send plain messages here (`analyze`,
 * `generate`, `cancel`, ...), the answers go out as `ui <field> <text>` for
 * the displays, and everything that touches Live goes to the [js grym_lom.js]
 * object as `lom request <json>`, answered with `lom_reply <json>` (Node for
 * Max cannot reach the Live Object Model; the two match replies by id).
 * The song's tempo, meter and key arrive as `song <json>` from the same script.
 */

const maxApi = require("max-api");
const { BridgeConnection } = require("./grym_osc");
const { Requests, GrymError } = require("./grym_requests");

const STYLES = ["pop", "jazz", "lofi", "house", "cinematic", "trap"];
const KINDS = ["chords", "melody", "bass", "drums"];
const FX_STYLES = ["", "warm", "bright", "dark", "punchy", "wide", "airy", "lofi"];
/** Seconds a job may go without a word (progress) before the device gives up on it and cancels it. */
const JOB_TIMEOUT_S = { analyze: 120, suggest: 300, render: 600, generate: 900, compose: 60, ask: 900, similar: 120 };
const LOM_TIMEOUT_S = 5;

const state = {
  prompt: "", askText: "", bars: 4, kind: "chords", style: "pop", fxStyle: "",
  writeName: false, writeSession: false, song: {}, suggestion: null, jobTimeoutS: 0,
  session: "default",
};

const conn = new BridgeConnection();
const requests = new Requests(conn, {
  replyTimeoutS: 10,
  onQueued: (jobId, address) => {
    ui("queued", jobId);
    status(`queued as job ${jobId} (${address.split("/").slice(2).join(" ")})`);
  },
  onProgress: (jobId, fraction, message) => {
    status(`${Math.round(fraction * 100)}%${message ? " " + message : ""}`);
    ui("progress", fraction);
  },
});

// ---- output to the patch -------------------------------------------------------------------

function ui(field, ...values) {
  return maxApi.outlet("ui", field, ...values);
}

function status(text) {
  ui("status", text);
}

function showError(err) {
  const code = err.code || "internal";
  status(code === "cancelled" ? "cancelled" : "failed");
  ui("error", `${code}: ${err.message}`);
  ui("progress", 0);
}

// ---- the Live Object Model, through the [js] script ----------------------------------------

let lomId = 0;
const lomPending = new Map();

/** Ask grym_lom.js to do `op` in Live; resolves with its result, rejects with its error. */
function lom(op, params = {}) {
  const id = ++lomId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      lomPending.delete(id);
      reject(new GrymError("live", `Live did not answer ${op} within ${LOM_TIMEOUT_S} s`));
    }, LOM_TIMEOUT_S * 1000);
    lomPending.set(id, { resolve, reject, timer });
    maxApi.outlet("lom", "request", JSON.stringify({ id, op, ...params }));
  });
}

function lomReply(text) {
  let reply;
  try {
    reply = JSON.parse(text);
  } catch (err) {
    maxApi.post(`grym: unreadable reply from the Live script: ${text}`);
    return;
  }
  const pending = lomPending.get(reply.id);
  if (!pending) return;
  lomPending.delete(reply.id);
  clearTimeout(pending.timer);
  if (reply.ok) pending.resolve(reply.result);
  else pending.reject(new GrymError("live", reply.error));
}

// ---- session sync --------------------------------------------------------------------------

/** Tell the bridge the song's tempo, meter and (Live 12 scale) key. */
async function syncSession() {
  const song = state.song;
  const pairs = [["tempo", song.tempo], ["time_signature", song.time_signature], ["key", song.key]];
  for (const [key, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    try {
      await requests.call("/grym/session/set", [key, String(value), "session", state.session]);
    } catch (err) {
      if (err.code !== "not_connected") showError(err);
    }
  }
}

function onSong(text) {
  try {
    state.song = JSON.parse(text);
  } catch (err) {
    return;
  }
  if (conn.connected) syncSession();
}

// ---- the actions ---------------------------------------------------------------------------

function jobOptions(kind) {
  return { job: true, timeoutS: state.jobTimeoutS || JOB_TIMEOUT_S[kind] };
}

/** The audio file of Live's selected clip, or an error saying what to select. */
async function selectedAudioPath() {
  const clip = await lom("detail_clip");
  if (!clip || !clip.file_path) {
    throw new GrymError("no_clip", "select an audio clip first (click it so it shows in Live's clip view)");
  }
  return clip;
}

function beatsPerBar(timeSignature) {
  const [num, den] = String(timeSignature || "4/4").split("/").map(Number);
  return num * 4 / den;
}

const fmt = (value, digits, unit) => (typeof value === "number" ? value.toFixed(digits) + unit : "n/a");

async function analyze() {
  const clip = await selectedAudioPath();
  status(`analyzing ${clip.name || "clip"}`);
  // bars follow the meter this device syncs into its session
  const a = await requests.call("/grym/analyze/file", [clip.file_path, "session", state.session], jobOptions("analyze"));
  const line = `${a.key || "no key"} · ${fmt(a.tempo_bpm, 1, " bpm")} · ${fmt(a.lufs_integrated, 1, " LUFS")} · ` +
    `TP ${fmt(a.true_peak_dbtp, 1, " dBTP")}`;
  ui("analysis", line);
  if (state.writeName) {
    const tag = `[${a.key || "?"} ${a.tempo_bpm ? Math.round(a.tempo_bpm) : "?"}bpm ${fmt(a.lufs_integrated, 0, "LUFS")}]`;
    const base = String(clip.name || "").replace(/\s*\[[^\]]*\]$/, "");
    await lom("set_clip_name", { name: `${base} ${tag}`.trim() });
  }
  if (state.writeSession && a.key) {
    await requests.call("/grym/session/set", ["key", a.key, "session", state.session]);
  }
  return `analyzed: ${line}`;
}

async function suggest() {
  const clip = await selectedAudioPath();
  status(`listening to ${clip.name || "clip"}`);
  const opts = state.fxStyle ? ["style", state.fxStyle] : [];
  const s = await requests.call("/grym/fx/suggest", [clip.file_path, ...opts], jobOptions("suggest"));
  state.suggestion = { path: clip.file_path, chain: s.chain };
  const reasons = (s.reasons || []).map((r, i) => `${i + 1}. ${r.message}`);
  ui("result", reasons.join("\n") || "nothing to fix");
  status("mapping onto Live's devices");
  const map = await requests.call("/grym/fx/map", [JSON.stringify(s.chain), "ableton"], jobOptions("suggest"));
  ui("chain", describeMapping(map));
  return `${reasons.length} suggestion(s); Render A/B to hear them`;
}

function describeMapping(map) {
  const lines = (map.devices || []).filter((d) => d.device).map((d) => {
    const params = (d.params || []).map((p) => `${p.name} ${typeof p.value === "number" ? +p.value.toFixed(2) : p.value}${p.unit ? " " + p.unit : ""}`);
    return `${d.device}: ${params.join(", ")}`;
  });
  if ((map.unmapped || []).length) lines.push(`no Live device for chain step(s) ${map.unmapped.join(", ")}`);
  return lines.join("\n") || "no devices needed";
}

async function renderAB() {
  if (!state.suggestion) throw new GrymError("no_suggestion", "press Suggest first: Render A/B renders its chain");
  status("rendering A/B");
  const r = await requests.call("/grym/fx/render",
    [state.suggestion.path, JSON.stringify(state.suggestion.chain), "ab", 1], jobOptions("render"));
  const ab = r.ab || {};
  ui("result", `A (original, loudness-matched): ${ab.a_path || state.suggestion.path}\nB (suggested chain): ` +
    `${ab.b_path || r.path}\nrender: ${r.path}`);
  return `rendered: ${fmt(r.input_lufs, 1, " LUFS")} in, ${fmt(r.output_lufs, 1, " LUFS")} out`;
}

async function generate() {
  const prompt = state.prompt.trim();
  if (!prompt) throw new GrymError("bad_args", "type a prompt first (what should it sound like?)");
  const args = [prompt, "bars", state.bars];
  if (state.song.tempo) args.push("tempo", Number(state.song.tempo));
  args.push("session", state.session);
  status(`generating "${prompt}"`);
  const g = await requests.call("/grym/generate/text", args, jobOptions("generate"));
  const file = g.files && g.files[0];
  if (!file) throw new GrymError("internal", "the bridge generated no file");
  const placed = await lom("create_audio_clip", { path: file.path, name: `grym ${prompt}`.slice(0, 60) });
  if (placed.placed) {
    ui("result", `${file.path}\nin track ${placed.track_name}, slot ${placed.slot + 1}`);
    return `generated into slot ${placed.slot + 1}`;
  }
  const folder = file.path.replace(/[\\/][^\\/]*$/, "");
  ui("result", `${file.path}\n${placed.reason}. Drag it from Live's browser: add ${folder} with ` +
    "Places > Add Folder… once, and every generated clip shows there.");
  return "generated (drag it in from the browser)";
}

async function compose() {
  const song = state.song;
  const args = ["style", state.style, "bars", state.bars, "session", state.session];
  if (song.key && state.kind !== "drums") args.push("key", song.key);
  if (song.tempo) args.push("tempo", Number(song.tempo));
  if (song.time_signature) args.push("time_signature", song.time_signature);
  status(`composing ${state.kind}`);
  const c = await requests.call(`/grym/compose/${state.kind}`, args, jobOptions("compose"));
  const notes = c.notes.map(([pitch, start, duration, velocity]) => ({ pitch, start_time: start, duration, velocity }));
  const written = await lom("write_notes", {
    notes, length_beats: c.bars * beatsPerBar(c.time_signature),
    name: `grym ${c.kind} ${c.style}${c.key ? " " + c.key : ""}`,
  });
  ui("result", `${c.note_count} notes, ${c.bars} bars${c.key ? " in " + c.key : ""} (${c.style}), ` +
    `track ${written.track_name}, slot ${written.slot + 1}\n${(c.chords || []).join(" ")}`);
  return `composed ${c.kind}`;
}

async function ask() {
  const text = state.askText.trim();
  if (!text) throw new GrymError("bad_args", "type what you want first, e.g. \"make this loop darker\"");
  let path = "";
  try {
    path = (await lom("detail_clip")).file_path || "";
  } catch (err) { /* a request in words may need no clip */ }
  status("working on it");
  const r = await requests.call("/grym/ask", [text, path, "session", state.session], jobOptions("ask"));
  ui("result", r.explanation || JSON.stringify(r.result));
  return "done";
}

async function similar() {
  const clip = await selectedAudioPath();
  status("searching feature memory");
  const hits = await requests.call("/grym/memory/similar", [clip.file_path, "k", 5], jobOptions("similar"));
  const lines = hits.map((h) => `${h.score.toFixed(2)}  ${h.path}`);
  ui("result", lines.join("\n") || "nothing similar in memory yet (Analyze adds clips)");
  return `${hits.length} similar clip(s)`;
}

/** Run one action: clear the error, show progress, and always end with a status (never stuck). */
function run(name, action) {
  return async () => {
    ui("error", "clear");
    ui("busy", 1);
    try {
      status(await action());
      ui("progress", 1);
    } catch (err) {
      showError(err);
    } finally {
      ui("busy", requests.active > 0 ? 1 : 0);
      ui("done", name);
    }
  };
}

function cancel() {
  const n = requests.cancelAll();
  status(n ? `cancelling ${n} request(s)` : "nothing to cancel");
}

// ---- connection ----------------------------------------------------------------------------

conn.on("up", async () => {
  try {
    const [version] = await requests.call("/grym/system/ping", []);
    ui("connected", 1, `grym ${version} at ${conn.host}:${conn.port}`);
    try {
      // The song as Live has it now: its `song` message may have come before this script was running.
      state.song = await lom("song");
    } catch (err) { /* the LOM is not ready yet: [live.thisdevice] will send the song */ }
    await syncSession();
  } catch (err) {
    ui("connected", 0, `${conn.host}:${conn.port} answers but is not grym: ${err.message}`);
  }
});
conn.on("down", (reason) => {
  ui("connected", 0, `lost the bridge (${reason}); reconnecting`);
  requests.failAll("connection_lost", "the bridge went away (restarted or stopped); anything running there is lost: try again once it is back");
});
conn.on("retry", () => ui("connected", 0, `no bridge at ${conn.host}:${conn.port}: start it with \`grym serve\``));
conn.on("message", (address, args) => requests.handle(address, args));

// ---- messages from the patch ---------------------------------------------------------------

const pick = (list, value) => (typeof value === "number" ? list[value] : String(value));
const words = (args) => args.map(String).join(" ");

maxApi.addHandlers({
  connect: (host, port) => conn.connect(host || "127.0.0.1", port || 9130),
  disconnect: () => conn.close(),
  analyze: run("analyze", analyze),
  suggest: run("suggest", suggest),
  render_ab: run("render_ab", renderAB),
  generate: run("generate", generate),
  compose: run("compose", compose),
  ask: run("ask", ask),
  similar: run("similar", similar),
  cancel,
  prompt: (...args) => { state.prompt = words(args); },
  ask_text: (...args) => { state.askText = words(args); },
  bars: (n) => { state.bars = Math.max(1, Math.min(256, Math.round(Number(n)) || 4)); },
  kind: (k) => { state.kind = pick(KINDS, k) || "chords"; },
  style: (s) => { state.style = pick(STYLES, s) || "pop"; },
  fx_style: (s) => { state.fxStyle = pick(FX_STYLES, s) || ""; },
  write_name: (on) => { state.writeName = Boolean(Number(on)); },
  write_session: (on) => { state.writeSession = Boolean(Number(on)); },
  session: (id) => { state.session = String(id); syncSession(); },
  timeouts: (replyS, jobS) => {
    requests.replyTimeoutS = Number(replyS) || 10;
    state.jobTimeoutS = Number(jobS) || 0;
  },
  song: onSong,
  lom_reply: lomReply,
});

ui("connected", 0, "connecting");
// The bridge's default address; GRYM_HOST / GRYM_PORT (or a `connect host port` message) point elsewhere.
conn.connect(process.env.GRYM_HOST || "127.0.0.1", Number(process.env.GRYM_PORT) || 9130);
