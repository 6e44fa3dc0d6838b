// The page's shell: hash routing between the six pages, the connection light, the route table.
import { connect, on } from "./api.js";
import { toast } from "./ui.js";

const PAGES = ["analyze", "generate", "effects", "compose", "memory", "system"];
let cleanup = null;
let routesPromise = null;

/** The route table (GET /api/routes), fetched once: pages build their forms from it. */
export function routes() {
  routesPromise = routesPromise || fetch("/api/routes").then((r) => r.json()).then((doc) => {
    const byAddress = new Map(doc.routes.map((r) => [r.address, r]));
    return { ...doc, route: (address) => byAddress.get(address) };
  });
  return routesPromise;
}

async function show() {
  const name = location.hash.replace(/^#\/?/, "") || "analyze";
  const page = PAGES.includes(name) ? name : "analyze";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (cleanup) { try { cleanup(); } catch (err) { console.warn(err); } cleanup = null; }
  const root = document.getElementById("page");
  root.replaceChildren();
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · grym-bridge`;
  try {
    const module = await import(`./pages/${page}.js`);
    cleanup = (await module.render(root, { routes: await routes() })) || null;
    root.dataset.page = page;
    root.dataset.ready = "1";
  } catch (err) {
    toast(`The ${page} page could not load: ${err.message}`);
    throw err;
  }
}

const conn = document.getElementById("conn");
on("connection", (up) => {
  conn.textContent = up ? "connected" : "reconnecting…";
  conn.className = `conn ${up ? "on" : "off"}`;
});
window.addEventListener("hashchange", () => { document.getElementById("page").dataset.ready = ""; show(); });
if (new URLSearchParams(location.search).has("token")) history.replaceState(null, "", location.pathname + location.hash);
connect();
show();
