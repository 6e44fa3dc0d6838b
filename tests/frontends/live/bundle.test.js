"use strict";
// The node script as grym.amxd embeds it (one file, its modules inlined: GRYM_DEVICE_SCRIPT) runs:
// it connects to a real `grym serve` and writes composed drums into a stand-in Live clip.

const test = require("node:test");
const assert = require("node:assert/strict");
const { Server, Device, LiveSet } = require("./device_harness");

test("the embedded node script connects and composes", async (t) => {
  assert.ok(process.env.GRYM_DEVICE_SCRIPT, "GRYM_DEVICE_SCRIPT names the bundled script");
  const server = new Server().start();
  t.after(async () => {
    await server.kill();
    setImmediate(() => process.exit(0));
  });
  const live = new LiveSet({ version: [11, 3, 0], tempo: 90, tracks: [{ name: "Beat", midi: true, slots: [null] }] });
  const device = new Device(live);
  await device.waitFor((ui) => /^1 grym /.test(ui.connected || ""), 60, "the connection");
  await device.send("kind", "drums");
  await device.send("style", 5);  // trap, by index
  await device.send("bars", 2);
  const ui = await device.press("compose");
  assert.equal(ui.error, "clear", ui.error);
  const clip = live.clipAt(0, 0);
  assert.equal(clip.length, 8);
  assert.equal(clip.name, "grym drums trap");
  assert.ok(clip.notes.length > 8);
});
