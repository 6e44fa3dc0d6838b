// Small DOM helpers shared by the pages: an element builder, labelled fields from route specs,
// progress, toasts, the clip picker (drop, file, memory, path).
import { upload, view } from "./api.js";

/** h("div", {class: "card"}, child, "text", ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "style") el.style.cssText = value;  // CSSOM, which the page's CSP allows (a style attribute it refuses)
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
export const nextId = (stem) => `${stem}-${++uid}`;

export function toast(message, kind = "error") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 9000 : 4000);
}

/** A labelled control for one route argument (from GET /api/routes): number, choice, text or check. */
export function argField(arg, value = undefined, overrides = {}) {
  const id = nextId(arg.name);
  const current = value !== undefined ? value : arg.default;
  const label = overrides.label || arg.name.replace(/_/g, " ");
  let input;
  if (arg.type === "bool") {
    input = h("input", { type: "checkbox", id, name: arg.name, checked: !!current });
    return h("div", { class: "field" }, h("label", { class: "check", for: id }, input, label),
      arg.help ? h("small", {}, arg.help) : null);
  }
  if (arg.choices) {
    input = h("select", { id, name: arg.name }, arg.choices.map((c) => h("option", { value: c, selected: c === current }, c === "" ? "(default)" : c)));
  } else if (arg.type === "int" || arg.type === "float") {
    input = h("input", { type: "number", id, name: arg.name, value: current ?? "", step: arg.type === "int" ? 1 : "any",
      min: arg.min ?? undefined, max: arg.max ?? undefined });
  } else if (overrides.multiline) {
    input = h("textarea", { id, name: arg.name }, current ?? "");
  } else {
    input = h("input", { type: "text", id, name: arg.name, value: current ?? "" });
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), input, arg.help ? h("small", {}, arg.help) : null);
}

/** The values of the fields inside `root`, typed by their route spec. */
export function readFields(root, specs) {
  const out = {};
  for (const spec of specs) {
    const el = root.querySelector(`[name="${spec.name}"]`);
    if (!el) continue;
    if (spec.type === "bool") out[spec.name] = el.checked;
    else if (spec.type === "int" || spec.type === "float") {
      if (el.value !== "") out[spec.name] = Number(el.value);
    } else out[spec.name] = el.value;
  }
  return out;
}

export function progress() {
  const bar = h("div");
  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const wrap = h("div", { class: "hidden" }, h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, bar), status);
  return {
    el: wrap,
    set(fraction, message = "") {
      wrap.classList.remove("hidden");
      const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
      bar.style.width = `${pct}%`;
      wrap.firstChild.setAttribute("aria-valuenow", pct);
      status.textContent = message || `${pct}%`;
    },
    done(message) { bar.style.width = "100%"; status.textContent = message; },
    fail(message) { wrap.classList.remove("hidden"); status.textContent = message; },
  };
}

export const basename = (path) => String(path).split(/[\\/]/).pop();
export const fmt = (value, digits = 1) => (value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(digits));

/**
 * Choose a clip: drop a file or pick one (uploaded to the bridge), choose a remembered clip, or
 * type a path on the bridge's machine. Calls onPick(path, label).
 */
export function clipPicker(onPick) {
  const fileId = nextId("file"), memId = nextId("memory"), pathId = nextId("path");
  const fileInput = h("input", { type: "file", id: fileId, accept: "audio/*,.wav,.flac,.aif,.aiff,.ogg,.mp3", class: "hidden" });
  const drop = h("div", { class: "drop", tabindex: 0, role: "button", "aria-label": "Drop an audio file here, or press Enter to choose one" },
    h("strong", {}, "Drop a clip here"), h("div", {}, "or ", h("label", { for: fileId, style: "display:inline;color:var(--accent2);cursor:pointer" }, "choose a file"), " (wav, flac, aiff, ogg, mp3)"),
    fileInput);
  const send = async (file) => {
    try {
      drop.querySelector("strong").textContent = `Uploading ${file.name}…`;
      const stored = await upload(file);
      drop.querySelector("strong").textContent = file.name;
      onPick(stored.path, file.name);
    } catch (err) { toast(err.message); drop.querySelector("strong").textContent = "Drop a clip here"; }
  };
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); } });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) send(e.dataTransfer.files[0]); });
  fileInput.addEventListener("change", () => fileInput.files[0] && send(fileInput.files[0]));

  const memory = h("select", { id: memId }, h("option", { value: "" }, "— a clip from memory —"));
  view("clips", { limit: 300 }).then(({ clips }) => {
    for (const c of clips) memory.append(h("option", { value: c.path }, `#${c.id} ${basename(c.path)}${c.tags.length ? "  · " + c.tags.join(", ") : ""}`));
  }).catch(() => {});
  memory.addEventListener("change", () => memory.value && onPick(memory.value, basename(memory.value)));
  const pathInput = h("input", { type: "text", id: pathId, placeholder: "/path/on/the/bridge/loop.wav" });
  const go = h("button", { type: "button", onclick: () => pathInput.value.trim() && onPick(pathInput.value.trim(), basename(pathInput.value.trim())) }, "Use");
  pathInput.addEventListener("keydown", (e) => { if (e.key === "Enter") go.click(); });
  return h("div", { class: "picker" }, drop,
    h("div", {}, h("div", { class: "field" }, h("label", { for: memId }, "From memory"), memory),
      h("div", { class: "field" }, h("label", { for: pathId }, "A file on the bridge's machine"), h("div", { class: "row" }, h("div", { class: "field", style: "margin:0" }, pathInput), go))));
}
