// Effects: the suggested chain with its reasons, each parameter as a control, a render, and a
// loudness-matched A/B player that switches instantly between the source and the render.
import { downloadable, fileUrl, runJob, settings } from "../api.js";
import { basename, clipPicker, fmt, h, nextId, progress, toast } from "../ui.js";

/** A control range for a parameter, guessed from its name (the bridge checks the real limits). */
function rangeOf(name, value) {
  if (name.endsWith("_hz")) return { min: 20, max: 20000, log: true };
  if (name === "q") return { min: 0.1, max: 10, step: 0.01 };
  if (name.startsWith("threshold")) return { min: -60, max: 0, step: 0.1 };
  if (name.startsWith("ceiling")) return { min: -12, max: 0, step: 0.01 };
  if (name.endsWith("_db")) return { min: -24, max: 24, step: 0.1 };
  if (name.endsWith("_ms")) return { min: 0, max: 2000, step: 1 };
  if (name === "ratio") return { min: 1, max: 20, step: 0.1 };
  if (typeof value === "number" && value >= 0 && value <= 1) return { min: 0, max: 1, step: 0.01 };
  return { min: Math.min(0, value * 2), max: Math.max(1, value * 2), step: 0.01 };
}

function paramControl(params, name) {
  const value = params[name];
  const id = nextId(name);
  if (typeof value !== "number") {
    return h("div", { class: "field" }, h("label", { for: id }, name.replace(/_/g, " ")),
      h("input", { type: typeof value === "boolean" ? "checkbox" : "text", id, checked: value === true, value: typeof value === "boolean" ? undefined : value,
        onchange: (e) => { params[name] = typeof value === "boolean" ? e.target.checked : e.target.value; } }));
  }
  const r = rangeOf(name, value);
  const toSlider = (v) => r.log ? Math.round(Math.log(v / r.min) / Math.log(r.max / r.min) * 1000) : v;
  const fromSlider = (s) => r.log ? Math.round(r.min * (r.max / r.min) ** (s / 1000) * 10) / 10 : Number(s);
  const number = h("input", { type: "number", id, value, step: r.step || "any", "aria-label": name });
  const slider = h("input", { type: "range", min: r.log ? 0 : r.min, max: r.log ? 1000 : r.max, step: r.log ? 1 : r.step, value: toSlider(value), "aria-label": `${name} slider`, tabindex: -1 });
  slider.addEventListener("input", () => { params[name] = fromSlider(slider.value); number.value = params[name]; });
  number.addEventListener("change", () => { params[name] = Number(number.value); slider.value = toSlider(params[name]); });
  return h("div", { class: "field" }, h("label", { for: id }, name.replace(/_/g, " ")), h("div", { class: "param" }, slider, number));
}

/** Two players started together; the switch mutes one and unmutes the other, so it is instant. */
function abPlayer(aUrl, bUrl, gainDb) {
  const a = h("audio", { src: aUrl, preload: "auto", loop: true, id: "ab-a" });
  const b = h("audio", { src: bUrl, preload: "auto", loop: true, id: "ab-b", muted: true });
  b.muted = true;
  const wrap = h("div", { class: "card", id: "ab" });
  let side = "a";
  const bA = h("button", { type: "button", "aria-pressed": "true", id: "ab-pick-a" }, "A");
  const bB = h("button", { type: "button", "aria-pressed": "false", id: "ab-pick-b" }, "B");
  const play = h("button", { type: "button", class: "primary", id: "ab-play" }, "Play");
  const choose = (s) => {
    side = s;
    b.currentTime = a.currentTime;
    a.muted = s !== "a"; b.muted = s !== "b";
    bA.setAttribute("aria-pressed", String(s === "a")); bB.setAttribute("aria-pressed", String(s === "b"));
    wrap.dataset.side = s;
  };
  bA.addEventListener("click", () => choose("a"));
  bB.addEventListener("click", () => choose("b"));
  play.addEventListener("click", async () => {
    if (a.paused) {
      b.currentTime = a.currentTime;
      try { await Promise.all([a.play(), b.play()]); play.textContent = "Pause"; } catch (err) { toast(`cannot play: ${err.message}`); }
    } else { a.pause(); b.pause(); play.textContent = "Play"; }
  });
  wrap.dataset.side = side;
  wrap.addEventListener("keydown", (e) => { if (e.key === "a") choose("a"); if (e.key === "b") choose("b"); });
  wrap.append(h("h2", {}, "A/B, loudness-matched"),
    h("div", { class: "ab" }, play, h("div", { class: "switch", role: "group", "aria-label": "listen to" }, bA, " ", bB),
      h("span", { class: "dim" }, `A: the source · B: the render, ${gainDb >= 0 ? "+" : ""}${fmt(gainDb)} dB to match A's loudness (keys a / b switch)`)), a, b);
  return { el: wrap, stop: () => { a.pause(); b.pause(); } };
}

export async function render(root) {
  const conf = await settings();
  let source = null, suggestion = null, player = null;
  const bar = progress();
  const style = h("select", { id: "fx-style" }, h("option", { value: "" }, "(none)"), conf.fx_styles.map((s) => h("option", { value: s }, s)));
  const target = h("select", { id: "fx-target" }, conf.fx_targets.map((t) => h("option", { value: t }, t)), h("option", { value: "none" }, "none"));
  const suggestBtn = h("button", { class: "primary", type: "button", id: "suggest-btn", disabled: true }, "Suggest");
  const reasons = h("ul", { class: "reasons", id: "reasons" });
  const chainBox = h("div", { id: "chain" });
  const renderBtn = h("button", { class: "primary", type: "button", id: "render-btn", disabled: true }, "Render A/B");
  const abBox = h("div", { id: "ab-box" });
  const name = h("span", { class: "dim" });

  function showChain() {
    chainBox.replaceChildren(...suggestion.chain.map((plugin, i) => h("fieldset", { class: "plugin" },
      h("legend", {}, `${i + 1}. ${plugin.plugin}`), h("div", { class: "fields" }, Object.keys(plugin.params).map((p) => paramControl(plugin.params, p))))));
  }

  suggestBtn.addEventListener("click", async () => {
    bar.set(0, "measuring…");
    try {
      suggestion = await runJob("fx/suggest", { path: source, style: style.value, target: target.value }, (f, m) => bar.set(f, m));
      bar.done(`${suggestion.chain.length} plugin(s) for ${suggestion.target ? suggestion.target.name : "no loudness target"}`);
      reasons.replaceChildren(...suggestion.reasons.map((r) => h("li", {}, h("b", {}, r.problem.replace(/_/g, " ")), " — ", r.message)));
      if (!suggestion.reasons.length) reasons.append(h("li", {}, "Nothing to fix: the clip is already on target."));
      showChain();
      renderBtn.disabled = false;
    } catch (err) { bar.fail(err.message); toast(err.message); }
  });

  renderBtn.addEventListener("click", async () => {
    bar.set(0, "rendering…");
    renderBtn.disabled = true;
    try {
      const result = await runJob("fx/render", { path: source, chain: JSON.stringify(suggestion.chain), ab: true }, (f, m) => bar.set(f, m));
      let aPath = result.ab.a_path;
      if (!(await downloadable(aPath))) {  // the source lives outside the bridge's download folders: a clean copy plays as A
        aPath = (await runJob("fx/render", { path: source, chain: JSON.stringify([{ plugin: "Gain", params: { gain_db: 0 } }]) })).path;
      }
      player?.stop();
      player = abPlayer(fileUrl(aPath), fileUrl(result.ab.b_path), result.ab.gain_db);
      abBox.replaceChildren(player.el, h("p", {}, h("a", { class: "button", href: fileUrl(result.path, true), download: basename(result.path), id: "render-download" }, "Download the render"),
        h("span", { class: "dim" }, `  ${fmt(result.input_lufs)} → ${fmt(result.output_lufs)} LUFS`)));
      bar.done(`rendered ${basename(result.path)}`);
    } catch (err) { bar.fail(err.message); toast(err.message); }
    finally { renderBtn.disabled = false; }
  });

  root.append(h("h1", {}, "Effects ", name), h("p", { class: "lead" }, "A chain suggested from the measurements, with the reason for each move. Tune it, render it, and compare at matched loudness."),
    h("div", { class: "card", style: "margin-bottom:14px" }, clipPicker((path, label) => {
      source = path; name.textContent = `· ${label}`; suggestBtn.disabled = false; suggestBtn.focus();
    }), h("div", { class: "row", style: "margin-top:10px" },
      h("div", { class: "field" }, h("label", { for: "fx-style" }, "Style"), style),
      h("div", { class: "field" }, h("label", { for: "fx-target" }, "Loudness target"), target), suggestBtn), bar.el),
    h("div", { class: "grid" },
      h("div", { class: "span-6" }, h("section", { class: "card", style: "margin-bottom:14px" }, h("h2", {}, "Why"), reasons), abBox),
      h("section", { class: "card span-6" }, h("h2", {}, "Chain"), chainBox, renderBtn)));
  return () => player?.stop();
}
