// Analyze: a clip's waveform with beats, bars and chords, its spectrogram, its band balance against
// the fx target curve, loudness against streaming / club / broadcast, and key and tempo.
import { runJob, settings, view } from "../api.js";
import { drawBands, drawSpectrogram, drawWaveform } from "../draw.js";
import { basename, clipPicker, fmt, h, progress, toast } from "../ui.js";

function stat(label, id) {
  return h("div", { class: "card span-3 stat" }, h("span", { class: "label" }, label),
    h("span", { class: "value", id }, "–"), h("div", { class: "conf", title: "confidence" }, h("div", { style: "width:0" })),
    h("span", { class: "dim", id: `${id}-note` }, ""));
}

function setStat(root, id, value, unit, confidence, note) {
  const el = root.querySelector(`#${id}`);
  el.replaceChildren(value, unit ? h("span", { class: "unit" }, unit) : "");
  const bar = el.parentElement.querySelector(".conf > div");
  bar.style.width = confidence === null ? "0" : `${Math.round(confidence * 100)}%`;
  el.parentElement.querySelector(".conf").title = confidence === null ? "" : `confidence ${Math.round(confidence * 100)}%`;
  root.querySelector(`#${id}-note`).textContent = note;
}

/** A horizontal meter from `lo` to `hi` with the value filled and each target marked. */
function meter(label, value, unit, lo, hi, marks, id, overAt = null) {
  const pos = (v) => `${Math.max(0, Math.min(100, (v - lo) / (hi - lo) * 100))}%`;
  return h("div", { class: "meter", id },
    h("div", { class: "head" }, h("span", {}, label), h("b", {}, `${fmt(value)} ${unit}`)),
    h("div", { class: "scale", role: "img", "aria-label": `${label} ${fmt(value)} ${unit}; ` + marks.map(([n, v]) => `${n} ${v} ${unit}`).join(", ") },
      h("div", { class: overAt !== null && value > overAt ? "fill over" : "fill", style: `width:${pos(value)}` }),
      marks.map(([name, v]) => h("div", { class: "mark", style: `left:${pos(v)}` }, h("span", {}, `${name} ${v}`)))),
    h("div", { class: "ticks" }));
}

export async function render(root) {
  const bar = progress();
  const title = h("span", { class: "dim", id: "clip-name" }, "");
  root.append(
    h("h1", {}, "Analyze ", title),
    h("p", { class: "lead" }, "Loudness, tempo and beats, key and chords, and spectral balance of a clip."),
    h("div", { class: "card", style: "margin-bottom:14px" }, clipPicker((path, label) => analyze(path, label)), bar.el),
    h("div", { class: "grid", id: "results", "aria-live": "polite" },
      stat("Key", "key-value"), stat("Tempo", "tempo-value"), stat("Loudness", "lufs-value"), stat("Length", "length-value"),
      h("section", { class: "card span-12", "aria-labelledby": "wave-h" }, h("h2", { id: "wave-h" }, "Waveform, beats, bars and chords"),
        h("canvas", { class: "wave", id: "waveform", role: "img", "aria-label": "waveform with beat and bar lines and chord regions" })),
      h("section", { class: "card span-12" }, h("h2", {}, "Spectrogram"),
        h("canvas", { class: "spec", id: "spectrogram", role: "img", "aria-label": "spectrogram, low frequencies at the bottom" })),
      h("section", { class: "card span-6" }, h("h2", {}, "Band balance vs the target curve"),
        h("canvas", { class: "bands", id: "bands", role: "img", "aria-label": "deviation of each band from the target curve in dB" }),
        h("div", { class: "legend" }, h("span", {}, h("i", { style: "background:#f2a541" }), "above the curve"), h("span", {}, h("i", { style: "background:#4fc3c7" }), "below"))),
      h("section", { class: "card span-6", id: "loudness" }, h("h2", {}, "Loudness vs targets"), h("p", { class: "dim" }, "Pick a clip to measure it."))));

  async function analyze(path, label) {
    title.textContent = `· ${label || basename(path)}`;
    bar.set(0, "analyzing…");
    const width = Math.min(2400, Math.round(root.querySelector("#waveform").clientWidth || 1200));
    try {
      const [analysis, peaks, spec] = await Promise.all([
        runJob("analyze/file", { path }, (f, m) => bar.set(f, m)),
        view("peaks", { path, width }),
        view("spectrogram", { path, width: Math.min(800, width), height: 96 }),
      ]);
      bar.done(`analyzed ${label || basename(path)}`);
      await show(analysis, peaks, spec);
      // The band balance (a long-term spectrum, seconds on a long clip) comes after the first paint, not
      // competing with the analysis for the CPU.
      drawBands(root.querySelector("#bands"), (await view("balance", { path })).band_deviation_db);
    } catch (err) {
      bar.fail(err.message);
      toast(err.message);
    }
  }

  async function show(a, peaks, spec) {
    // a modulating clip: its key is the opening one; the later keys follow with their start times
    const later = (a.key_segments || []).slice(1).map((s) => ` · ${s.key} from ${fmt(s.start, 1)} s`).join("");
    setStat(root, "key-value", a.key || "none", "", a.key_confidence ?? 0,
      a.key ? `confidence ${Math.round((a.key_confidence ?? 0) * 100)}%${later}` : "no clear key");
    setStat(root, "tempo-value", a.tempo_bpm ? fmt(a.tempo_bpm, 1) : "–", "BPM", a.tempo_confidence ?? 0,
      `${(a.beats || []).length} beats · confidence ${Math.round((a.tempo_confidence ?? 0) * 100)}%`);
    setStat(root, "lufs-value", fmt(a.lufs_integrated), "LUFS", null, `true peak ${fmt(a.true_peak_dbtp)} dBTP · LRA ${fmt(a.loudness_range_lu)} LU`);
    setStat(root, "length-value", fmt(a.duration_s, 1), "s", null, `${a.sample_rate} Hz · ${a.channels === 1 ? "mono" : a.channels + " channels"}`);
    drawWaveform(root.querySelector("#waveform"), peaks, a);
    drawSpectrogram(root.querySelector("#spectrogram"), spec);
    const { loudness_targets: t } = await settings();
    root.querySelector("#loudness").replaceChildren(h("h2", {}, "Loudness vs targets"),
      meter("Integrated loudness", a.lufs_integrated, "LUFS", -40, 0,
        [["broadcast", t.broadcast.lufs], ["streaming", t.streaming.lufs], ["club", t.club.lufs]], "meter-lufs"),
      meter("True peak", a.true_peak_dbtp, "dBTP", -24, 3, [["ceiling", t.streaming.true_peak_dbtp]], "meter-peak", t.streaming.true_peak_dbtp),
      meter("Loudness range", a.loudness_range_lu, "LU", 0, 25, [["club", 4], ["streaming", 9], ["broadcast", 15]], "meter-lra"));
  }
}
