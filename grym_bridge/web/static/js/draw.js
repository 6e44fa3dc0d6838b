// Canvas drawings: waveform with beats, bars and chords; spectrogram; band balance; piano roll; clip map.

const COLORS = { wave: "#4fc3c7", beat: "#ffffff22", bar: "#f2a541aa", text: "#9aa3ae", grid: "#2b323c",
  chords: ["#f2a54133", "#4fc3c733", "#a78bfa33", "#62c37033"] };

/** Size a canvas to its CSS box at the screen's pixel ratio; answers [ctx, width, height] in CSS px. */
export function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600, height = canvas.clientHeight || 150;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return [ctx, width, height];
}

function timeAxis(ctx, width, height, duration) {
  const step = [1, 2, 5, 10, 15, 30, 60].find((s) => (duration / s) <= width / 70) || 120;
  ctx.fillStyle = COLORS.text; ctx.font = "11px system-ui"; ctx.textAlign = "center";
  for (let t = step; t < duration; t += step) {
    const x = (t / duration) * width;
    ctx.fillText(t >= 60 ? `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}` : `${t}s`, x, height - 4);
  }
}

/** The waveform (min/max columns) with chord regions on top, beat lines and numbered bar lines. */
export function drawWaveform(canvas, peaks, analysis, beatsPerBar = 4) {
  const [ctx, width, height] = fit(canvas);
  const duration = peaks.duration_s;
  const laneH = 24, axisH = 16, top = laneH + 4, waveH = height - top - axisH;
  const x = (t) => (t / duration) * width;
  // Chord regions: each chord until the next one.
  const chords = analysis.chords || [];
  chords.forEach((c, i) => {
    const start = x(c.time_s), end = x(i + 1 < chords.length ? chords[i + 1].time_s : duration);
    ctx.fillStyle = COLORS.chords[i % COLORS.chords.length];
    ctx.fillRect(start, 0, end - start - 1, laneH);
    ctx.fillStyle = "#e6e9ee"; ctx.font = "600 12px system-ui"; ctx.textAlign = "left";
    if (end - start > 24) ctx.fillText(c.chord, start + 5, 16);
  });
  // Beats and bars.
  const beats = analysis.beats || [];
  beats.forEach((b, i) => {
    const bx = Math.round(x(b)) + 0.5;
    const isBar = i % beatsPerBar === 0;
    ctx.strokeStyle = isBar ? COLORS.bar : COLORS.beat; ctx.lineWidth = isBar ? 1.5 : 1;
    ctx.beginPath(); ctx.moveTo(bx, top); ctx.lineTo(bx, top + waveH); ctx.stroke();
    if (isBar) { ctx.fillStyle = COLORS.bar; ctx.font = "10px system-ui"; ctx.textAlign = "left"; ctx.fillText(String(i / beatsPerBar + 1), bx + 3, top + 11); }
  });
  // Waveform.
  const mid = top + waveH / 2, n = peaks.min.length;
  const grad = ctx.createLinearGradient(0, top, 0, top + waveH);
  grad.addColorStop(0, "#4fc3c7"); grad.addColorStop(0.5, "#8fe3e6"); grad.addColorStop(1, "#4fc3c7");
  ctx.fillStyle = grad;
  ctx.beginPath();
  for (let i = 0; i < n; i++) ctx.lineTo((i / n) * width, mid - peaks.max[i] * waveH / 2);
  for (let i = n - 1; i >= 0; i--) ctx.lineTo((i / n) * width, mid - peaks.min[i] * waveH / 2);
  ctx.closePath(); ctx.fill();
  timeAxis(ctx, width, height, duration);
  canvas.dataset.beats = beats.length;
  canvas.dataset.bars = Math.ceil(beats.length / beatsPerBar);
  canvas.dataset.chords = chords.length;
  canvas.dataset.drawn = "1";
}

// A perceptual dark-to-bright palette (black, violet, orange, yellow-white), 256 entries.
const PALETTE = (() => {
  const stops = [[0, [11, 14, 18]], [0.3, [60, 30, 110]], [0.55, [170, 50, 110]], [0.78, [242, 140, 60]], [1, [252, 240, 170]]];
  const out = [];
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    const k = stops.findIndex(([p]) => p >= t);
    const [p1, c1] = stops[Math.max(0, k - 1)], [p2, c2] = stops[k];
    const f = p2 === p1 ? 0 : (t - p1) / (p2 - p1);
    out.push(c1.map((v, j) => Math.round(v + (c2[j] - v) * f)));
  }
  return out;
})();

/** The log-frequency spectrogram (rows high to low, bytes 0..255 over an 80 dB range). */
export function drawSpectrogram(canvas, spec) {
  const [ctx, width, height] = fit(canvas);
  const bytes = Uint8Array.from(atob(spec.data), (c) => c.charCodeAt(0));
  const image = new ImageData(spec.width, spec.height);
  for (let i = 0; i < bytes.length; i++) {
    const [r, g, b] = PALETTE[bytes[i]];
    image.data.set([r, g, b, 255], i * 4);
  }
  const off = document.createElement("canvas");
  off.width = spec.width; off.height = spec.height;
  off.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, width, height);
  ctx.fillStyle = "#e6e9eecc"; ctx.font = "11px system-ui"; ctx.textAlign = "left";
  for (const f of [100, 1000, 10000]) {
    if (f > spec.fmax) continue;
    const y = height * (1 - Math.log(f / spec.fmin) / Math.log(spec.fmax / spec.fmin));
    ctx.fillText(f >= 1000 ? `${f / 1000}k` : `${f}`, 4, y + 4);
    ctx.fillRect(24, y, 6, 1);
  }
  canvas.dataset.drawn = "1";
}

/** Band balance: each third-octave band's deviation from the fx target curve (0 dB line). */
export function drawBands(canvas, deviation) {
  const [ctx, width, height] = fit(canvas);
  const entries = Object.entries(deviation).map(([f, d]) => [Number(f), d]).sort((a, b) => a[0] - b[0]);
  const range = 12, top = 8, mid = top + (height - 18 - top) / 2, scale = (mid - top) / range;
  ctx.strokeStyle = COLORS.grid; ctx.fillStyle = COLORS.text; ctx.font = "11px system-ui";
  for (const db of [-12, -6, 0, 6, 12]) {
    const y = mid - db * scale + 0.5;
    ctx.strokeStyle = db === 0 ? "#f2a541" : COLORS.grid; ctx.lineWidth = db === 0 ? 1.5 : 1;
    ctx.beginPath(); ctx.moveTo(30, y); ctx.lineTo(width, y); ctx.stroke();
    ctx.textAlign = "right"; ctx.fillText(`${db > 0 ? "+" : ""}${db}`, 26, y + 4);
  }
  const slot = (width - 34) / entries.length;
  entries.forEach(([f, d], i) => {
    const v = Math.max(-range, Math.min(range, d));
    const bx = 34 + i * slot;
    ctx.fillStyle = v > 0 ? "#f2a541cc" : "#4fc3c7cc";
    ctx.fillRect(bx + 1, Math.min(mid, mid - v * scale), Math.max(1, slot - 3), Math.abs(v * scale));
    if (i % 3 === 0) { ctx.fillStyle = COLORS.text; ctx.textAlign = "center"; ctx.fillText(f >= 1000 ? `${Math.round(f / 100) / 10}k` : String(f), bx + slot / 2, height - 3); }
  });
  canvas.dataset.drawn = "1";
}

const DRUM_NAMES = { 35: "kick", 36: "kick", 38: "snare", 40: "snare", 37: "rim", 39: "clap", 42: "hat", 44: "hat", 46: "open hat", 49: "crash", 51: "ride", 41: "tom", 43: "tom", 45: "tom", 47: "tom", 48: "tom", 50: "tom" };

/** A piano roll of [pitch, start_beat, length_beats, velocity] notes; `playhead` in beats. */
export function drawRoll(canvas, notes, { beats = 16, beatsPerBar = 4, drums = false, playhead = null } = {}) {
  const [ctx, width, height] = fit(canvas);
  if (!notes.length) return;
  const lo = Math.min(...notes.map((n) => n[0])) - 2, hi = Math.max(...notes.map((n) => n[0])) + 2;
  const rows = hi - lo + 1, rowH = height / rows, left = 44, x = (b) => left + (b / beats) * (width - left);
  for (let p = lo; p <= hi; p++) {
    const y = height - (p - lo + 1) * rowH;
    const black = [1, 3, 6, 8, 10].includes(p % 12);
    ctx.fillStyle = black ? "#0d1014" : "#13171c"; ctx.fillRect(left, y, width - left, rowH);
    if (drums ? DRUM_NAMES[p] : p % 12 === 0) {
      ctx.fillStyle = COLORS.text; ctx.font = "10px system-ui"; ctx.textAlign = "right";
      ctx.fillText(drums ? DRUM_NAMES[p] : `C${p / 12 - 1}`, left - 4, y + rowH * 0.8);
    }
  }
  for (let b = 0; b <= beats; b++) {
    ctx.strokeStyle = b % beatsPerBar === 0 ? "#f2a54166" : COLORS.grid;
    ctx.beginPath(); ctx.moveTo(Math.round(x(b)) + 0.5, 0); ctx.lineTo(Math.round(x(b)) + 0.5, height); ctx.stroke();
  }
  for (const [pitch, start, length, velocity] of notes) {
    const y = height - (pitch - lo + 1) * rowH;
    ctx.fillStyle = `hsl(${drums ? 170 : 35}, 85%, ${35 + velocity / 127 * 35}%)`;
    ctx.fillRect(x(start) + 1, y + 1, Math.max(3, x(start + length) - x(start) - 2), Math.max(2, rowH - 2));
  }
  if (playhead !== null) { ctx.fillStyle = "#ffffff"; ctx.fillRect(x(playhead), 0, 2, height); }
  canvas.dataset.notes = notes.length;
  canvas.dataset.drawn = "1";
}

const SOURCE_COLORS = { analyzed: "#4fc3c7", generated: "#f2a541", rendered: "#a78bfa", imported: "#62c370" };

/** Clips as points (x, y in -1..1); answers a function mapping a mouse position to the nearest point. */
export function drawMap(canvas, points, selected = null) {
  const [ctx, width, height] = fit(canvas);
  const pad = 24, k = 0.88;  // keep the outermost points (and their labels) off the edges
  const px = (p) => pad + (p.x * k + 1) / 2 * (width - 2 * pad), py = (p) => pad + (1 - (p.y * k + 1) / 2) * (height - 2 * pad);
  ctx.strokeStyle = COLORS.grid;
  ctx.beginPath(); ctx.moveTo(width / 2, pad / 2); ctx.lineTo(width / 2, height - pad / 2); ctx.moveTo(pad / 2, height / 2); ctx.lineTo(width - pad / 2, height / 2); ctx.stroke();
  for (const p of points) {
    ctx.beginPath(); ctx.arc(px(p), py(p), p.id === selected ? 8 : 5.5, 0, Math.PI * 2);
    ctx.fillStyle = SOURCE_COLORS[p.source] || "#e6e9ee"; ctx.globalAlpha = p.rejected ? 0.35 : 0.95; ctx.fill();
    ctx.globalAlpha = 1;
    if (p.kept || p.id === selected) { ctx.lineWidth = 2; ctx.strokeStyle = p.id === selected ? "#ffffff" : "#62c370"; ctx.stroke(); }
    if (p.id === selected || points.length <= 20) {
      const right = px(p) > width * 0.75;
      ctx.fillStyle = "#e6e9ee"; ctx.font = "11px system-ui"; ctx.textAlign = right ? "right" : "left";
      ctx.fillText(p.path.split("/").pop().slice(0, 28), px(p) + (right ? -9 : 9), py(p) + 4);
    }
  }
  canvas.dataset.points = points.length;
  canvas.dataset.drawn = "1";
  return (mx, my) => {
    let best = null, dist = 15 * 15;
    for (const p of points) { const d = (px(p) - mx) ** 2 + (py(p) - my) ** 2; if (d < dist) { dist = d; best = p; } }
    return best;
  };
}

export { SOURCE_COLORS };
