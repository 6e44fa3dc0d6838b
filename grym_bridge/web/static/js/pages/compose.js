// Compose: chords, melody, bass and drums in the session's key and tempo; piano-roll preview,
// playback through WebAudio, and the .mid file.
import { fileUrl, get, runJob } from "../api.js";
import { drawRoll } from "../draw.js";
import { argField, basename, h, progress, readFields, toast } from "../ui.js";

const KINDS = ["chords", "melody", "bass", "drums"];
const FIELDS = ["key", "style", "bars", "tempo", "time_signature", "progression", "seed", "swing", "humanize"];

const midiHz = (p) => 440 * 2 ** ((p - 69) / 12);

/** Schedule a part's notes on an AudioContext: simple voices, enough to hear the idea. */
function schedule(ctx, out, part, start, secPerBeat) {
  for (const [pitch, beat, length, velocity] of part.notes) {
    const t = start + beat * secPerBeat, dur = Math.max(0.05, length * secPerBeat), amp = velocity / 127 * 0.18;
    const gain = ctx.createGain();
    gain.connect(out);
    if (part.kind === "drums") {
      const noise = ctx.createBufferSource();
      const buffer = ctx.createBuffer(1, ctx.sampleRate * 0.2, ctx.sampleRate);
      const data = buffer.getChannelData(0);
      for (let i = 0; i < data.length; i++) data[i] = (Math.random() * 2 - 1) * (1 - i / data.length) ** (pitch <= 36 ? 8 : 3);
      noise.buffer = buffer;
      const filter = ctx.createBiquadFilter();
      filter.type = pitch <= 36 ? "lowpass" : pitch === 38 || pitch === 40 ? "bandpass" : "highpass";
      filter.frequency.value = pitch <= 36 ? 120 : pitch === 38 || pitch === 40 ? 1800 : 7000;
      noise.connect(filter); filter.connect(gain);
      gain.gain.setValueAtTime(amp * (pitch <= 36 ? 6 : 2), t);
      noise.start(t); noise.stop(t + 0.2);
    } else {
      const osc = ctx.createOscillator();
      osc.type = part.kind === "bass" ? "sawtooth" : part.kind === "melody" ? "square" : "triangle";
      osc.frequency.value = midiHz(pitch);
      osc.connect(gain);
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(amp * (part.kind === "chords" ? 0.6 : 0.5), t + 0.01);
      gain.gain.setTargetAtTime(0, t + dur * 0.9, 0.05);
      osc.start(t); osc.stop(t + dur + 0.3);
    }
  }
}

export async function render(root, { routes }) {
  const route = routes.route("/grym/compose/chords");
  const opt = (n) => route.options.find((o) => o.name === n);
  const session = await get("session/get").catch(() => ({}));
  const parts = [];
  let audio = null, raf = 0;
  const bar = progress();
  const kind = h("select", { id: "compose-kind", name: "kind" }, KINDS.map((k) => h("option", { value: k }, k)));
  const list = h("div", { id: "parts" });
  const playBtn = h("button", { type: "button", class: "primary", id: "play-btn", disabled: true }, "Play all");
  const form = h("form", { class: "card", id: "compose-form" },
    h("div", { class: "fields" }, h("div", { class: "field" }, h("label", { for: "compose-kind" }, "Part"), kind),
      FIELDS.map((n) => argField(n === "key" && session.key ? { ...opt(n), default: session.key } : opt(n)))),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", id: "compose-btn" }, "Compose"), playBtn,
      h("button", { type: "button", onclick: () => { parts.length = 0; list.replaceChildren(); playBtn.disabled = true; } }, "Clear")),
    bar.el);

  function redraw(playhead = null) {
    for (const part of parts) drawRoll(part.canvas, part.notes, { beats: part.beats, drums: part.kind === "drums", playhead });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    bar.set(0, `composing ${kind.value}…`);
    try {
      const result = await runJob(`compose/${kind.value}`, readFields(form, FIELDS.map(opt)), (f, m) => bar.set(f, m));
      const [num] = (result.time_signature || "4/4").split("/").map(Number);
      const canvas = h("canvas", { class: "roll", role: "img", "aria-label": `${result.kind} piano roll, ${result.note_count} notes` });
      const part = { ...result, beats: result.bars * num, canvas };
      parts.push(part);
      list.append(h("section", { class: "card", style: "margin-top:14px" },
        h("div", { class: "row", style: "justify-content:space-between;align-items:center;margin-bottom:8px" },
          h("h2", { style: "margin:0" }, `${result.kind} · ${result.key || "no key"} · ${result.style} · ${result.tempo} BPM · ${result.bars} bars`),
          h("a", { class: "button", href: fileUrl(result.path, true), download: basename(result.path) }, "Download .mid")),
        result.chords?.length ? h("div", { class: "dim", style: "margin-bottom:6px" }, result.chords.join("  ·  ")) : null, canvas));
      redraw();
      playBtn.disabled = false;
      bar.done(`${result.note_count} notes, seed ${result.seed}`);
    } catch (err) { bar.fail(err.message); toast(err.message); }
  });

  playBtn.addEventListener("click", async () => {
    if (audio) { stop(); return; }
    audio = new AudioContext();
    const out = audio.createGain(); out.gain.value = 0.8; out.connect(audio.destination);
    const start = audio.currentTime + 0.1;
    const tempo = parts[0].tempo, secPerBeat = 60 / tempo, beats = Math.max(...parts.map((p) => p.beats));
    for (const part of parts) schedule(audio, out, part, start, 60 / part.tempo);
    playBtn.textContent = "Stop";
    const tick = () => {
      if (!audio) return;
      const beat = (audio.currentTime - start) / secPerBeat;
      if (beat > beats) { stop(); return; }
      redraw(Math.max(0, beat));
      raf = requestAnimationFrame(tick);
    };
    tick();
  });

  function stop() {
    cancelAnimationFrame(raf);
    audio?.close();
    audio = null;
    playBtn.textContent = "Play all";
    redraw();
  }

  root.append(h("h1", {}, "Compose"), h("p", { class: "lead" }, "MIDI in the session's key and tempo. Compose parts one by one; they play together."), form, list);
  return stop;
}
