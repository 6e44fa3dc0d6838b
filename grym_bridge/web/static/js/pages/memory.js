// Memory: search the remembered clips, find similar ones with scores, tag and rate them, and see
// every clip on a 2-D map of its feature vector where similar material sits together.
import { call, downloadable, fileUrl, get, runJob, view } from "../api.js";
import { SOURCE_COLORS, drawMap } from "../draw.js";
import { basename, fmt, h, progress, toast } from "../ui.js";

export async function render(root) {
  let clips = [], points = [], selected = null, hit = null;
  const q = h("input", { type: "search", id: "mem-q", placeholder: "name or tag" });
  const source = h("select", { id: "mem-source" }, ["", "analyzed", "generated", "rendered", "imported"].map((s) => h("option", { value: s }, s || "any")));
  const body = h("tbody", { id: "clip-rows" });
  const canvas = h("canvas", { class: "map", id: "clip-map", role: "img", "aria-label": "map of the clips by similarity; the table lists the same clips" });
  const detail = h("div", { id: "clip-detail" }, h("p", { class: "dim" }, "Select a clip in the table or on the map."));
  const bar = progress();

  async function load() {
    try {
      ({ clips } = await view("clips", { q: q.value, source: source.value, limit: 500 }));
      body.replaceChildren(...clips.map(row));
      if (!clips.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "dim" }, "No clips yet: analyze or generate something, or `grym memory add` a folder.")));
    } catch (err) { toast(err.message); }
  }
  async function loadMap() {
    try {
      ({ points } = await view("map", { space: "features" }));
      hit = drawMap(canvas, points, selected);
    } catch (err) { toast(err.message); }
  }
  function row(c) {
    return h("tr", { class: c.id === selected ? "selected" : "", "data-id": c.id },
      h("td", {}, h("button", { type: "button", onclick: () => select(c.id), "aria-label": `open clip ${c.id}` }, `#${c.id}`)),
      h("td", {}, basename(c.path)), h("td", {}, h("span", { class: "tag", style: `border-color:${SOURCE_COLORS[c.source]}` }, c.source)),
      h("td", {}, c.tags.map((t) => h("span", { class: "tag" }, t))),
      h("td", {}, c.kept ? "kept" : c.rejected ? "rejected" : "", c.rating !== null ? ` ${fmt(c.rating, 0)}★` : ""));
  }

  async function select(id) {
    selected = id;
    for (const tr of body.querySelectorAll("tr")) tr.classList.toggle("selected", Number(tr.dataset.id) === id);
    if (hit) hit = drawMap(canvas, points, selected);
    try {
      const clip = await get("memory/get", { clip_id: id });
      const tagInput = h("input", { type: "text", id: "tag-input", placeholder: "dark, pad" });
      const rating = h("select", { id: "rating" }, ["", "0", "1", "2", "3", "4", "5"].map((v) => h("option", { value: v, selected: String(clip.feedback.rating ?? "") === v }, v === "" ? "—" : `${v} ★`)));
      const similar = h("ol", { id: "similar" });
      const playable = await downloadable(clip.path);
      detail.replaceChildren(...[
        h("h2", {}, `#${clip.id} ${basename(clip.path)}`),
        h("dl", { class: "kv" }, h("dt", {}, "path"), h("dd", { class: "mono" }, clip.path), h("dt", {}, "source"), h("dd", {}, clip.source),
          h("dt", {}, "length"), h("dd", {}, `${fmt(clip.duration_s, 1)} s`), h("dt", {}, "feedback"),
          h("dd", {}, clip.feedback.kept ? "kept" : clip.feedback.rejected ? "rejected" : "none"),
          clip.provenance?.prompt ? [h("dt", {}, "prompt"), h("dd", {}, clip.provenance.prompt)] : null),
        playable ? h("audio", { controls: true, src: fileUrl(clip.path), style: "width:100%;margin:10px 0" }) : null,
        h("div", { class: "field" }, h("label", { for: "tag-input" }, "Tags"), h("div", {}, clip.tags.map((t) => h("span", { class: "tag" }, t, " ",
          h("button", { type: "button", "aria-label": `remove tag ${t}`, style: "padding:0 4px;border:0;background:none", onclick: () => tag(t, true) }, "×")))),
          h("div", { class: "row" }, h("div", { class: "field", style: "margin:0" }, tagInput), h("button", { type: "button", onclick: () => tag(tagInput.value, false) }, "Add tags"))),
        h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "rating" }, "Rating"), rating),
          h("button", { type: "button", class: "keep", "aria-pressed": String(clip.feedback.kept), onclick: () => rate(clip.feedback.kept ? "clear" : "kept") }, "Keep"),
          h("button", { type: "button", class: "reject", "aria-pressed": String(clip.feedback.rejected), onclick: () => rate(clip.feedback.rejected ? "clear" : "rejected") }, "Reject"),
          h("button", { type: "button", id: "similar-btn", onclick: () => findSimilar(similar) }, "Find similar")),
        bar.el, similar].filter(Boolean));
      rating.addEventListener("change", () => rating.value !== "" && rate(rating.value));
      detail.dataset.clip = clip.id;
      detail.dataset.rating = clip.feedback.rating ?? "";
    } catch (err) { toast(err.message); }
  }
  async function tag(text, remove) {
    if (!text.trim()) return;
    try { await call("memory/tag", { clip_id: selected, tags: text, remove }); await load(); select(selected); } catch (err) { toast(err.message); }
  }
  async function rate(value) {
    try { await call("memory/rate", { clip_id: selected, value }); await load(); await loadMap(); select(selected); } catch (err) { toast(err.message); }
  }
  async function findSimilar(list) {
    bar.set(0, "searching…");
    try {
      const matches = await runJob("memory/similar", { query: String(selected), k: 10 }, (f, m) => bar.set(f, m));
      bar.done(`${matches.length} similar clip(s)`);
      list.replaceChildren(...matches.map((m) => h("li", {}, h("button", { type: "button", onclick: () => select(m.id) }, `#${m.id}`), ` ${basename(m.path)} `,
        h("span", { class: "tag" }, `score ${fmt(m.score, 3)}`))));
    } catch (err) { bar.fail(err.message); }
  }

  canvas.addEventListener("click", (e) => {
    const r = canvas.getBoundingClientRect();
    const p = hit && hit(e.clientX - r.left, e.clientY - r.top);
    if (p) select(p.id);
  });
  canvas.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    const p = hit && hit(e.clientX - r.left, e.clientY - r.top);
    canvas.title = p ? `#${p.id} ${basename(p.path)}${p.tags.length ? " · " + p.tags.join(", ") : ""}` : "";
  });
  let timer = 0;
  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
  source.addEventListener("change", load);

  root.append(h("h1", {}, "Memory"), h("p", { class: "lead" }, "Every clip the bridge has analyzed, generated or rendered. What you keep and reject steers “more like my kept clips”."),
    h("div", { class: "grid" },
      h("section", { class: "card span-6" }, h("h2", {}, "Map"), canvas,
        h("div", { class: "legend" }, Object.entries(SOURCE_COLORS).map(([s, c]) => h("span", {}, h("i", { style: `background:${c}` }), s)),
          h("span", {}, h("i", { style: "background:none;border:2px solid #62c370" }), "kept"))),
      h("section", { class: "card span-6" }, detail),
      h("section", { class: "card span-12" },
        h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "mem-q" }, "Search"), q), h("div", { class: "field" }, h("label", { for: "mem-source" }, "Source"), source)),
        h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["Clip", "File", "Source", "Tags", "Feedback"].map((t) => h("th", { scope: "col" }, t)))), body)))));
  await Promise.all([load(), loadMap()]);
  const onResize = () => { if (hit) hit = drawMap(canvas, points, selected); };
  window.addEventListener("resize", onResize);
  return () => window.removeEventListener("resize", onResize);
}
