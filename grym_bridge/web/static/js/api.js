// The bridge from the page: JSON requests (POST /api/<domain>/<verb>), the websocket that
// carries job progress/done/error and subscription updates, uploads and file URLs.

export class ApiError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

let clientId = "";
const jobs = new Map();      // job id -> {onProgress, resolve, reject}
const early = new Map();     // job id -> events that arrived before the request's answer
const listeners = new Map(); // address -> Set(callback)
let socket = null;
let ready = null;

function emitStatus(on) {
  for (const cb of listeners.get("connection") || []) cb(on);
}

/** Open (or reopen) the page's websocket; resolves once the bridge has welcomed it. */
export function connect() {
  if (ready) return ready;
  ready = new Promise((resolve) => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    socket = ws;
    ws.onmessage = (event) => {
      const { address, args } = JSON.parse(event.data);
      if (address === "/grym/web/welcome") { clientId = args[0]; emitStatus(true); resolve(clientId); return; }
      onMessage(address, args);
    };
    ws.onclose = () => {
      emitStatus(false);
      ready = null; socket = null; clientId = "";
      resolve("");
      setTimeout(connect, 1500);
    };
  });
  return ready;
}

export function on(address, callback) {
  if (!listeners.has(address)) listeners.set(address, new Set());
  listeners.get(address).add(callback);
  return () => listeners.get(address).delete(callback);
}

function onMessage(address, args) {
  if (address.startsWith("/grym/job/") && ["progress", "done", "error"].includes(address.split("/").pop())) {
    const id = args[0];
    const job = jobs.get(id);
    if (job) jobEvent(job, id, address, args);
    else { if (!early.has(id)) early.set(id, []); early.get(id).push([address, args]); }
  }
  for (const cb of listeners.get(address) || []) cb(args);
}

function jobEvent(job, id, address, args) {
  const kind = address.split("/").pop();
  if (kind === "progress") job.onProgress?.(args[1], args[2]);
  else if (kind === "done") { jobs.delete(id); job.resolve(args[1]); }
  else { jobs.delete(id); job.reject(new ApiError(args[1], args[2])); }
}

/** Call one address: `call("analyze/file", {path})`. Answers the reply's values (or {job_id}). */
export async function call(path, body = {}) {
  await connect();
  const response = await fetch(`/api/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Grym-Client": clientId },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new ApiError(data.error.code, data.error.message);
  return data;
}

/** The first value of a plain reply (most replies carry one JSON document). */
export async function get(path, body = {}) {
  return (await call(path, body)).values[0];
}

/** Start a job and wait for its result; `onProgress(fraction, message)` hears each step. */
export async function runJob(path, body = {}, onProgress = null) {
  const { job_id: id } = await call(path, body);
  return new Promise((resolve, reject) => {
    const job = { onProgress, resolve, reject };
    jobs.set(id, job);
    for (const [address, args] of early.get(id) || []) jobEvent(job, id, address, args);
    early.delete(id);
  });
}

/** HTTP-only views: peaks, spectrogram, clips, map, config. */
export async function view(name, params = {}) {
  const response = await fetch(`/api/web/${name}?${new URLSearchParams(params)}`);
  const data = await response.json();
  if (!response.ok) throw new ApiError(data.error.code, data.error.message);
  return data;
}

/** Upload a File from the browser; answers {path, size, name} of the bridge's copy. */
export async function upload(file) {
  const response = await fetch(`/api/upload?${new URLSearchParams({ name: file.name })}`, { method: "POST", body: file });
  const data = await response.json();
  if (!response.ok) throw new ApiError(data.error.code, data.error.message);
  return data;
}

export function fileUrl(path, download = false) {
  return `/files?${new URLSearchParams(download ? { path, download: 1 } : { path })}`;
}

let configCache = null;
export async function settings() {
  configCache = configCache || view("config");
  return configCache;
}

/** Whether the bridge lets the page fetch this file (renders/, results/, uploads/). */
export async function downloadable(path) {
  const { download_roots: roots } = await settings();
  return roots.some((root) => path === root || path.startsWith(root.replace(/\/$/, "") + "/"));
}
