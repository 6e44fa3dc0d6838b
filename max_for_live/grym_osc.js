"use strict";
/**
 * OSC 1.1 over TCP with SLIP framing, on Node's built-in modules only.
 *
 * This is the wire half of the grym device: it encodes requests, decodes the
 * bridge's replies and job messages, and keeps one connection to the bridge
 * open (reconnecting with a growing pause when the bridge restarts). Replies
 * come back on the connection, so two devices never share a reply port.
 *
 * Loaded by grym_node.js (node.script). No npm packages: nothing to install
 * inside Max.
 */

const net = require("net");
const { EventEmitter } = require("events");

const SLIP_END = 0xc0;
const SLIP_ESC = 0xdb;
const SLIP_ESC_END = 0xdc;
const SLIP_ESC_ESC = 0xdd;
/** A frame this long without an END byte is garbage: drop it rather than grow forever. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

function oscString(text) {
  const bytes = Buffer.from(String(text), "utf8");
  const padded = Buffer.alloc((bytes.length + 4) & ~3);
  bytes.copy(padded);
  return padded;
}

/** One OSC message as bytes: integers as `i`, other numbers `f`, booleans `T`/`F`, null `N`, the rest `s`. */
function encodeMessage(address, args) {
  let tags = ",";
  const parts = [];
  for (const arg of args) {
    if (typeof arg === "number" && Number.isInteger(arg) && arg >= -0x80000000 && arg <= 0x7fffffff) {
      tags += "i";
      const b = Buffer.alloc(4);
      b.writeInt32BE(arg);
      parts.push(b);
    } else if (typeof arg === "number") {
      tags += "f";
      const b = Buffer.alloc(4);
      b.writeFloatBE(arg);
      parts.push(b);
    } else if (typeof arg === "boolean") {
      tags += arg ? "T" : "F";
    } else if (arg === null || arg === undefined) {
      tags += "N";
    } else {
      tags += "s";
      parts.push(oscString(arg));
    }
  }
  return Buffer.concat([oscString(address), oscString(tags), ...parts]);
}

function readString(buf, offset) {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new Error("OSC string without a terminating NUL");
  return [buf.toString("utf8", offset, end), (end + 4) & ~3];
}

/** The messages of one packet (a message or a bundle) as {address, args}. */
function decodePacket(buf) {
  if (buf.length >= 8 && buf.toString("latin1", 0, 8) === "#bundle\0") {
    const out = [];
    let offset = 16;  // "#bundle\0" and the 8-byte time tag: the bridge never sends future bundles
    while (offset + 4 <= buf.length) {
      const size = buf.readInt32BE(offset);
      out.push(...decodePacket(buf.subarray(offset + 4, offset + 4 + size)));
      offset += 4 + size;
    }
    return out;
  }
  let [address, offset] = readString(buf, 0);
  if (offset >= buf.length) return [{ address, args: [] }];
  let tags;
  [tags, offset] = readString(buf, offset);
  const args = [];
  for (const tag of tags.slice(1)) {
    switch (tag) {
      case "i": args.push(buf.readInt32BE(offset)); offset += 4; break;
      case "f": args.push(buf.readFloatBE(offset)); offset += 4; break;
      case "d": args.push(buf.readDoubleBE(offset)); offset += 8; break;
      case "h": args.push(Number(buf.readBigInt64BE(offset))); offset += 8; break;
      case "t": offset += 8; args.push(null); break;
      case "s": case "S": { let s; [s, offset] = readString(buf, offset); args.push(s); break; }
      case "b": { const n = buf.readInt32BE(offset); args.push(buf.subarray(offset + 4, offset + 4 + n)); offset += (4 + n + 3) & ~3; break; }
      case "T": args.push(true); break;
      case "F": args.push(false); break;
      case "N": case "I": args.push(null); break;
      default: throw new Error(`unknown OSC type tag ${tag}`);
    }
  }
  return [{ address, args }];
}

/** A packet as one SLIP frame, END bytes on both sides (OSC 1.1 over TCP). */
function slipEncode(packet) {
  const out = [SLIP_END];
  for (const byte of packet) {
    if (byte === SLIP_END) out.push(SLIP_ESC, SLIP_ESC_END);
    else if (byte === SLIP_ESC) out.push(SLIP_ESC, SLIP_ESC_ESC);
    else out.push(byte);
  }
  out.push(SLIP_END);
  return Buffer.from(out);
}

/** Splits a TCP byte stream into the packets of its SLIP frames. */
class SlipDecoder {
  constructor() { this.bytes = []; this.escaped = false; }

  push(chunk) {
    const packets = [];
    for (const byte of chunk) {
      if (byte === SLIP_END) {
        if (this.bytes.length) packets.push(Buffer.from(this.bytes));
        this.bytes = [];
      } else if (this.escaped) {
        this.bytes.push(byte === SLIP_ESC_END ? SLIP_END : byte === SLIP_ESC_ESC ? SLIP_ESC : byte);
        this.escaped = false;
      } else if (byte === SLIP_ESC) {
        this.escaped = true;
      } else if (this.bytes.length < MAX_FRAME_BYTES) {
        this.bytes.push(byte);
      }
    }
    return packets;
  }
}

/**
 * One OSC-over-TCP connection to the bridge that comes back by itself.
 * Events: "up", "down" (with the reason), "message" (address, args).
 */
class BridgeConnection extends EventEmitter {
  constructor() {
    super();
    this.host = "127.0.0.1";
    this.port = 9130;
    this.socket = null;
    this.connected = false;
    this.retryMs = 250;
    this.timer = null;
    this.stopped = true;
  }

  /** Connect (again) to host:port; a connection already open is closed first. */
  connect(host, port) {
    this.host = host || this.host;
    this.port = Number(port) || this.port;
    this.stopped = false;
    this.retryMs = 250;
    this._drop("reconnecting to " + this.host + ":" + this.port);
    this._open();
  }

  close() {
    this.stopped = true;
    this._drop("closed");
  }

  send(address, args) {
    if (!this.connected) return false;
    this.socket.write(slipEncode(encodeMessage(address, args)));
    return true;
  }

  _open() {
    clearTimeout(this.timer);
    const socket = net.createConnection({ host: this.host, port: this.port });
    const decoder = new SlipDecoder();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("connect", () => {
      if (this.socket !== socket) return;
      this.connected = true;
      this.retryMs = 250;
      this.emit("up");
    });
    socket.on("data", (chunk) => {
      for (const packet of decoder.push(chunk)) {
        let messages;
        try {
          messages = decodePacket(packet);
        } catch (err) {
          this.emit("garbled", err);
          continue;
        }
        for (const m of messages) this.emit("message", m.address, m.args);
      }
    });
    socket.on("error", () => {});  // "close" follows and says it
    socket.on("close", () => {
      if (this.socket !== socket) return;
      const was = this.connected;
      this.connected = false;
      this.socket = null;
      if (was) this.emit("down", "the bridge closed the connection");
      this._retry();
    });
  }

  _drop(reason) {
    clearTimeout(this.timer);
    const socket = this.socket;
    const was = this.connected;
    this.socket = null;
    this.connected = false;
    if (socket) socket.destroy();
    if (was) this.emit("down", reason);
  }

  _retry() {
    if (this.stopped) return;
    this.emit("retry", this.retryMs);
    this.timer = setTimeout(() => this._open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 4000);
  }
}

module.exports = { encodeMessage, decodePacket, slipEncode, SlipDecoder, BridgeConnection };
