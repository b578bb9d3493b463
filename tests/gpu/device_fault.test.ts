import assert from "node:assert/strict";
import { takeDeviceFault } from "../../core/gpu/device.ts";
import { fill } from "../../core/gpu/elementwise.ts";
import { Runtime } from "../../core/gpu/runtime.ts";
import { TrompeError } from "../../core/errors.ts";

// Lets the device's error event, dispatched after the call that caused it, arrive.
const settle = async (rt: Runtime) => {
  await rt.device.queue.onSubmittedWorkDone();
  await new Promise((resolve) => setTimeout(resolve, 50));
};

Deno.test("a command the device refuses makes the next read throw, naming the device's error", async () => {
  const rt = await Runtime.create();
  const t = rt.tensor("tmp/fault", [4]);
  fill(rt, t, 2);
  assert.deepEqual([...await rt.read(t)], [2, 2, 2, 2]);
  // MAP_READ with STORAGE is a usage WebGPU forbids: the device records a validation error, nothing throws.
  rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
  await settle(rt);
  fill(rt, t, 3);
  await assert.rejects(rt.read(t), (e: unknown) => {
    assert(e instanceof TrompeError && e.code === "gpu", String(e));
    assert.match(e.message, /the WebGPU device failed: GPUValidationError: .*usage/i);
    return true;
  });
  // Reported once: the device goes on working, and the next read is good.
  fill(rt, t, 4);
  assert.deepEqual([...await rt.read(t)], [4, 4, 4, 4]);
  rt.free(t);
});

Deno.test("sync throws a refused command's error too, and counts the faults after the first", async () => {
  const rt = await Runtime.create();
  for (let i = 0; i < 2; i++) {
    rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
  }
  await settle(rt);
  await assert.rejects(rt.sync(), /GPUValidationError: .*\(and 1 more\)/s);
  assert.equal(takeDeviceFault(rt.device), null);
});
