// Generate: prompt and every parameter from the route table, live progress, and the candidates
// in a row, each playable, with keep / reject (memory ratings) and download.
import { call, fileUrl, get, runJob } from "../api.js";
import { argField, basename, fmt, h, progress, readFields, toast } from "../ui.js";

const MAIN = ["duration", "bars", "tempo", "n", "seed", "steps", "guidance"];
const MORE = ["scheduler", "loop", "mono", "remember"];
const LABELS = { n: "variations", duration: "duration (s)", tempo: "tempo (BPM)", remember: "remember in memory" };

function candidate(file, index) {
  const state = { kept: false, rejected: false };
  const keep = h("button", { class: "keep", type: "button", "aria-pressed": "false" }, "Keep");
  const reject = h("button", { class: "reject", type: "button", "aria-pressed": "false" }, "Reject");
  const note = h("span", { class: "dim", role: "status" }, file.clip_id ? "" : "not in memory (remember was off)");
  async function rate(value) {
    if (!file.clip_id) { toast("This candidate is not in the memory: generate with remember on to rate it."); return; }
    try {
      const fb = (await call("memory/rate", { clip_id: file.clip_id, value })).values[1];
      state.kept = fb.kept; state.rejected = fb.rejected;
      keep.setAttribute("aria-pressed", String(fb.kept));
      reject.setAttribute("aria-pressed", String(fb.rejected));
      note.textContent = fb.kept ? "kept: more like this" : fb.rejected ? "rejected: less like this" : "";
    } catch (err) { toast(err.message); }
  }
  keep.addEventListener("click", () => rate(state.kept ? "clear" : "kept"));
  reject.addEventListener("click", () => rate(state.rejected ? "clear" : "rejected"));
  return h("article", { class: "card candidate", "data-clip": file.clip_id ?? "" },
    h("h3", {}, `Take ${index + 1}`, h("span", { class: "dim" }, `  seed ${file.seed}`)),
    h("div", { class: "dim" }, `${fmt(file.duration_s, 1)} s · ${fmt(file.lufs)} LUFS · ${file.sample_rate} Hz`),
    h("audio", { controls: true, preload: "metadata", src: fileUrl(file.path), "aria-label": `take ${index + 1}` }),
    h("div", { class: "actions" }, keep, reject,
      h("a", { class: "button", href: fileUrl(file.path, true), download: basename(file.path) }, "Download")), note);
}

export async function render(root, { routes }) {
  const route = routes.route("/grym/generate/text");
  const opt = (name) => route.options.find((o) => o.name === name);
  const [session, models] = await Promise.all([get("session/get").catch(() => ({})), get("generate/models").catch(() => [])]);
  const modelArg = { ...opt("model"), choices: ["", ...models.map((m) => m.id)] };
  const tempoArg = { ...opt("tempo"), default: session.tempo || 0 };
  const bar = progress();
  const out = h("div", { class: "candidates", id: "candidates", "aria-live": "polite" });
  const form = h("form", { class: "card", id: "generate-form" },
    h("div", { class: "grid" },
      h("div", { class: "span-8" }, argField(route.args[0], "", { label: "Prompt", multiline: true }),
        argField(opt("negative"), "", { label: "Negative prompt" })),
      h("div", { class: "span-4" }, argField(modelArg, "", { label: "Model" }),
        h("div", { class: "field" }, h("label", { for: "mode" }, "Memory mode"),
          h("select", { id: "mode", name: "mode" }, h("option", { value: "text" }, "words only"),
            h("option", { value: "like" }, "like a clip (and what I kept)")),
          h("small", {}, "like: the prompt grows from a clip's analysis and your kept clips")),
        h("div", { class: "field hidden", id: "like-field" }, h("label", { for: "like-source" }, "Clip id or path"),
          h("input", { type: "text", id: "like-source", name: "source" })))),
    h("div", { class: "fields" }, MAIN.map((n) => argField(n === "tempo" ? tempoArg : opt(n), undefined, { label: LABELS[n] }))),
    h("details", {}, h("summary", { class: "dim" }, "More"), h("div", { class: "fields", style: "margin-top:10px" }, MORE.map((n) => argField(opt(n), undefined, { label: LABELS[n] })))),
    h("div", { class: "row", style: "margin-top:8px" }, h("button", { class: "primary", type: "submit", id: "generate-btn" }, "Generate"),
      h("span", { class: "dim" }, session.tempo ? `session tempo ${session.tempo} BPM` : "no session tempo set: bars use generate.tempo_bpm")),
    bar.el);
  form.querySelector("#mode").addEventListener("change", (e) => form.querySelector("#like-field").classList.toggle("hidden", e.target.value !== "like"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const like = form.querySelector("#mode").value === "like";
    const body = readFields(form, [route.args[0], ...route.options]);
    if (!like && !body.prompt.trim()) { toast("Write a prompt first: what should it sound like?"); return; }
    let path = "generate/text";
    if (like) { path = "generate/like"; body.source = form.querySelector("#like-source").value.trim(); }
    const button = form.querySelector("#generate-btn");
    button.disabled = true;
    bar.set(0, "queued…");
    try {
      const result = await runJob(path, body, (f, m) => bar.set(f, m));
      bar.done(`${result.files.length} take(s) in ${fmt(result.seconds, 1)} s · ${result.model} · ${result.steps} steps`);
      out.replaceChildren(...result.files.map(candidate));
    } catch (err) { bar.fail(err.message); toast(err.message); }
    finally { button.disabled = false; }
  });
  root.append(h("h1", {}, "Generate"), h("p", { class: "lead" }, "Text to audio, cut to whole bars at the session tempo. Keep what you like: the memory learns from it."),
    form, h("h2", { style: "margin-top:18px" }, "Candidates"), out);
}
