// System: health, the job list with cancel, the queue (live), models and their weights, the config.
import { call, get, on, settings } from "../api.js";
import { fmt, h, toast } from "../ui.js";

const pill = (state) => h("span", { class: `pill ${state}` }, String(state).replace(/_/g, " "));

export async function render(root) {
  const health = h("div", { id: "health" }), jobsBody = h("tbody", { id: "jobs" }), queue = h("span", { id: "queue" }, "–");
  const models = h("tbody", { id: "models" }), caps = h("tbody", { id: "caps" }), config = h("tbody", { id: "config" });
  const filter = h("input", { type: "search", id: "config-filter", placeholder: "filter settings" });

  async function refresh() {
    try {
      const [hs, info, list] = await Promise.all([get("health/get"), get("system/info"), get("job/list")]);
      health.replaceChildren(h("div", { class: "row", style: "align-items:center" }, h("span", { style: "font-size:26px;font-weight:700" }, pill(hs.state)),
        h("span", { class: "dim" }, `for ${fmt(hs.for_s, 0)} s`)),
        hs.reasons.length ? h("ul", {}, hs.reasons.map((r) => h("li", {}, typeof r === "string" ? r : r.message || JSON.stringify(r)))) : h("p", { class: "dim" }, "No problems."),
        h("dl", { class: "kv" }, Object.entries(hs.readings).map(([k, v]) => [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, v === null ? "–" : fmt(v, k.endsWith("_s") ? 3 : 1))]),
          h("dt", {}, "version"), h("dd", {}, `${info.version} (protocol ${info.protocol})`), h("dt", {}, "uptime"), h("dd", {}, `${fmt(info.uptime_s, 0)} s`),
          h("dt", {}, "data"), h("dd", { class: "mono" }, info.data_dir),
          h("dt", {}, "endpoints"), h("dd", { class: "mono" }, Object.entries(info.endpoints).map(([k, v]) => `${k} ${v}`).join(" · "))));
      caps.replaceChildren(...info.capabilities.map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, pill(c.state)), h("td", { class: "dim" }, c.detail))));
      queue.textContent = `${info.queue.waiting} waiting · ${info.queue.running} running`;
      jobsBody.replaceChildren(...list.slice().reverse().map((j) => h("tr", { "data-job": j.job_id }, h("td", {}, `#${j.job_id}`), h("td", {}, j.name), h("td", {}, pill(j.state)),
        h("td", {}, `${Math.round((j.progress || 0) * 100)}%`), h("td", { class: "dim" }, j.error ? `${j.error.code}: ${j.error.message}` : j.message || ""),
        h("td", {}, ["queued", "running"].includes(j.state) ? h("button", { type: "button", onclick: () => cancel(j.job_id), "aria-label": `cancel job ${j.job_id}` }, "Cancel") : ""))));
      if (!list.length) jobsBody.append(h("tr", {}, h("td", { colspan: 6, class: "dim" }, "No recent jobs.")));
    } catch (err) { toast(err.message); }
  }
  async function cancel(id) {
    try { await call("job/cancel", { job_id: id }); refresh(); } catch (err) { toast(err.message); }
  }

  root.append(h("h1", {}, "System"), h("p", { class: "lead" }, "How the bridge is doing, what it is working on, and how it is set up."),
    h("div", { class: "grid" },
      h("section", { class: "card span-6" }, h("h2", {}, "Health"), health),
      h("section", { class: "card span-6" }, h("h2", {}, "Capabilities"), h("table", {}, h("tbody", {}, caps)),
        h("h2", { style: "margin-top:16px" }, "Models"), h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["Model", "Weights", "Loaded", "Size", "License"].map((t) => h("th", { scope: "col" }, t)))), models))),
      h("section", { class: "card span-12" }, h("div", { class: "row", style: "justify-content:space-between;align-items:center" }, h("h2", {}, "Jobs"), h("span", { role: "status" }, "Queue: ", queue)),
        h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["Job", "What", "State", "Progress", "Message", ""].map((t) => h("th", { scope: "col" }, t)))), jobsBody))),
      h("section", { class: "card span-12" }, h("h2", {}, "Configuration"), h("div", { class: "field" }, h("label", { for: "config-filter" }, "Filter"), filter),
        h("div", { class: "scroll tall" }, h("table", {}, h("thead", {}, h("tr", {}, ["Setting", "Value", "From", "What it does"].map((t) => h("th", { scope: "col" }, t)))), config)))));

  const [modelList, conf] = await Promise.all([get("generate/models").catch(() => []), settings()]);
  models.replaceChildren(...modelList.map((m) => h("tr", {}, h("td", { class: "mono" }, m.id), h("td", {}, pill(m.present ? "ready" : "needs_weights")),
    h("td", {}, m.loaded ? "yes" : "no"), h("td", {}, m.size_on_disk_gb ? `${fmt(m.size_on_disk_gb, 2)} GB` : "–"), h("td", { class: "dim" }, m.license))));
  const showConfig = () => config.replaceChildren(...conf.settings.filter((s) => !filter.value || s.key.includes(filter.value.toLowerCase()))
    .map((s) => h("tr", {}, h("td", { class: "mono" }, s.key), h("td", { class: "mono" }, JSON.stringify(s.value)), h("td", { class: "dim" }, s.source), h("td", { class: "dim" }, s.help))));
  filter.addEventListener("input", showConfig);
  showConfig();
  await refresh();
  // Live: the queue subscription, and job events refresh the list.
  const offs = [on("/grym/system/queue", ([waiting, running]) => { queue.textContent = `${waiting} waiting · ${running} running`; refresh(); })];
  try { await call("system/start_listen/queue"); } catch (err) { toast(err.message); }
  const timer = setInterval(refresh, 5000);
  return () => { clearInterval(timer); offs.forEach((off) => off()); call("system/stop_listen/queue").catch(() => {}); };
}
