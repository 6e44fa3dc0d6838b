"use strict";
/**
 * Requests and jobs of one device over one bridge connection.
 *
 * Every request carries a fresh integer id; its reply (or `/grym/error`)
 * echoes it. A job request answers `/grym/job/queued <req_id> <job_id>`,
 * then `/grym/job/progress`, then `/grym/job/done` or `/grym/job/error`.
 * Nothing can hang: every request has a reply timeout, every job an overall
 * timeout, cancel() ends them all at once, and a dropped connection fails
 * them with `connection_lost` (a restarted bridge does not know our jobs).
 */

class GrymError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

class Requests {
  /**
   * @param {object} conn  a BridgeConnection (send(address, args), connected)
   * @param {object} opts  {replyTimeoutS, jobTimeoutS, onQueued(jobId, address), onProgress(jobId, fraction, message)}
   */
  constructor(conn, opts) {
    this.conn = conn;
    this.replyTimeoutS = opts.replyTimeoutS || 10;
    this.jobTimeoutS = opts.jobTimeoutS || 600;
    this.onQueued = opts.onQueued || (() => {});
    this.onProgress = opts.onProgress || (() => {});
    this.nextId = 1;
    this.byReq = new Map();  // req_id -> pending
    this.byJob = new Map();  // job_id -> pending
  }

  /** Send a request; resolves with the reply's arguments after the id (or a job's parsed result). */
  call(address, args, { job = false, timeoutS } = {}) {
    const reqId = this.nextId++;
    return new Promise((resolve, reject) => {
      const pending = { reqId, address, job, jobId: null, resolve, reject, timer: null, cancelled: false };
      if (!this.conn.send(address, [reqId, ...args])) {
        reject(new GrymError("not_connected", "the bridge is not running: start it with `grym serve` (the device keeps trying)"));
        return;
      }
      this.byReq.set(reqId, pending);
      this._arm(pending, this.replyTimeoutS, `the bridge did not answer ${address} within ${this.replyTimeoutS} s`);
      pending.jobTimeoutS = timeoutS || this.jobTimeoutS;
    });
  }

  /** Feed every message from the connection here; returns true when it belonged to a request of ours. */
  handle(address, args) {
    if (address === "/grym/error") {
      const pending = this.byReq.get(args[1]);
      if (!pending) return false;
      this._finish(pending, new GrymError(String(args[2]), String(args[3])));
      return true;
    }
    if (address === "/grym/job/queued") {
      const pending = this.byReq.get(args[0]);
      if (!pending) return false;
      pending.jobId = args[1];
      this.byJob.set(pending.jobId, pending);
      if (pending.cancelled) {
        this.conn.send("/grym/job/cancel", [this.nextId++, pending.jobId]);
        this._arm(pending, Math.min(this.replyTimeoutS, 5));
      } else {
        this._arm(pending, pending.jobTimeoutS, `no word from the job for ${pending.jobTimeoutS} s; it was cancelled`);
        this.onQueued(pending.jobId, pending.address);
      }
      return true;
    }
    if (address === "/grym/job/progress") {
      const pending = this.byJob.get(args[0]);
      if (!pending) return false;
      if (!pending.cancelled) this._arm(pending, pending.jobTimeoutS);
      this.onProgress(args[0], Number(args[1]), String(args[2] || ""));
      return true;
    }
    if (address === "/grym/job/done" || address === "/grym/job/error") {
      const pending = this.byJob.get(args[0]);
      if (!pending) return false;
      if (address === "/grym/job/error") {
        this._finish(pending, new GrymError(String(args[1]), String(args[2])));
      } else {
        let result;
        try {
          result = JSON.parse(args[1]);
        } catch (err) {
          this._finish(pending, new GrymError("malformed", `the bridge sent a result that is not JSON: ${err.message}`));
          return true;
        }
        this._finish(pending, null, result);
      }
      return true;
    }
    const pending = this.byReq.get(args[0]);
    if (!pending || pending.job || pending.address !== address) return false;
    this._finish(pending, null, args.slice(1));
    return true;
  }

  /** Cancel everything in flight: jobs are cancelled on the bridge, waiting requests end here at once. */
  cancelAll() {
    let count = 0;
    for (const pending of [...this.byReq.values()]) {
      count++;
      pending.cancelled = true;
      if (!pending.job) {
        this._finish(pending, new GrymError("cancelled", "cancelled"));
        continue;
      }
      // The bridge answers with /grym/job/error <id> cancelled; if it cannot, do not wait long for it.
      if (pending.jobId !== null) this.conn.send("/grym/job/cancel", [this.nextId++, pending.jobId]);
      this._arm(pending, Math.min(this.replyTimeoutS, 5));
    }
    return count;
  }

  /** Fail everything in flight (the connection dropped: a restarted bridge does not know these jobs). */
  failAll(code, message) {
    for (const pending of [...this.byReq.values()]) this._finish(pending, new GrymError(code, message));
  }

  get active() {
    return this.byReq.size;
  }

  _arm(pending, seconds, message) {
    clearTimeout(pending.timer);
    if (message) pending.timeoutMessage = message;
    pending.timer = setTimeout(() => {
      if (pending.cancelled) {
        this._finish(pending, new GrymError("cancelled", "cancelled (the bridge did not confirm)"));
        return;
      }
      if (pending.jobId !== null) this.conn.send("/grym/job/cancel", [this.nextId++, pending.jobId]);
      this._finish(pending, new GrymError("timeout", pending.timeoutMessage));
    }, seconds * 1000);
  }

  _finish(pending, error, result) {
    clearTimeout(pending.timer);
    if (!this.byReq.has(pending.reqId)) return;
    this.byReq.delete(pending.reqId);
    if (pending.jobId !== null) this.byJob.delete(pending.jobId);
    if (error) pending.reject(error);
    else pending.resolve(result);
  }
}

module.exports = { Requests, GrymError };
