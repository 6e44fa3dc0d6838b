"use strict";
// grym_osc.js: the OSC 1.1 codec and SLIP framing the device speaks.

const test = require("node:test");
const assert = require("node:assert/strict");
const { encodeMessage, decodePacket, slipEncode, SlipDecoder } = require("../../../max_for_live/grym_osc");

test("a message survives encode, SLIP framing split at every byte, and decode", () => {
  // -2.0 as float32 is C0 00 00 00 (SLIP END) and 0xDB appears in the string: both must be escaped.
  const args = [7, -2, -2.5, "réglage \u00db", true, false, null, 2147483647];
  const framed = Buffer.concat([slipEncode(encodeMessage("/grym/x", args)), slipEncode(encodeMessage("/grym/y", []))]);
  assert.equal(framed.indexOf(0xc0, 1), framed.length - encodeMessage("/grym/y", []).length - 3);
  for (let cut = 1; cut < framed.length; cut++) {
    const decoder = new SlipDecoder();
    const packets = [...decoder.push(framed.subarray(0, cut)), ...decoder.push(framed.subarray(cut))];
    assert.equal(packets.length, 2);
    const [m] = decodePacket(packets[0]);
    assert.equal(m.address, "/grym/x");
    assert.deepEqual(m.args, [7, -2, -2.5, "réglage \u00db", true, false, null, 2147483647]);
    assert.deepEqual(decodePacket(packets[1]), [{ address: "/grym/y", args: [] }]);
  }
});

test("bundles, doubles and 64-bit ints from other senders decode", () => {
  const msg = encodeMessage("/a", [1]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(msg.length);
  const bundle = Buffer.concat([Buffer.from("#bundle\0"), Buffer.alloc(8), size, msg, size, msg]);
  assert.deepEqual(decodePacket(bundle), [{ address: "/a", args: [1] }, { address: "/a", args: [1] }]);
  const d = Buffer.concat([Buffer.from("/d\0\0,dh\0"), Buffer.alloc(16)]);
  d.writeDoubleBE(0.1, 8);
  d.writeBigInt64BE(5000000000n, 16);
  assert.deepEqual(decodePacket(d)[0].args, [0.1, 5000000000]);
  assert.throws(() => decodePacket(Buffer.from("/x\0\0,q\0\0")), /unknown OSC type tag q/);
});

test("the encoding is byte for byte what python-osc builds (GRYM_PY_OSC_HEX, from the pytest runner)", (t) => {
  if (!process.env.GRYM_PY_OSC_HEX) return t.skip("run through pytest for the cross-check");
  const ours = encodeMessage("/grym/generate/text", [3, "dusty loop", "bars", 4, "tempo", 97.5, true, null]);
  assert.equal(ours.toString("hex"), process.env.GRYM_PY_OSC_HEX);
});
