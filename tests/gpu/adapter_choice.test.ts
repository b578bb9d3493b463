/**
 * The adapter every run computes on: which one is chosen (--adapter / TROMPE_ADAPTER), the warning for a
 * software adapter where a GPU exists, the GPUs the system shows, and the adapter in every run record.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeRunRecord } from "../../core/cli/record.ts";
import { acquireGpu, type AdapterSummary, softwareWarnings } from "../../core/gpu/device.ts";
import { hostGpus } from "../../core/gpu/host_gpus.ts";

const LAVAPIPE: AdapterSummary = {
  name: "llvmpipe (LLVM 15.0.6, 256 bits)",
  vendor: "65541",
  architecture: "",
  backend: "vulkan",
  software: true,
  index: 0,
  of: 1,
  chosenBy: "default",
};
const GPU: AdapterSummary = { ...LAVAPIPE, name: "NVIDIA H100", software: false, index: 1, of: 2 };

Deno.test("softwareWarnings: a software adapter is flagged where a GPU is offered or the system shows one", () => {
  assert.deepEqual(softwareWarnings(GPU, [GPU], []), []);
  assert.deepEqual(softwareWarnings(LAVAPIPE, [LAVAPIPE], []), []);
  const offered = softwareWarnings(LAVAPIPE, [LAVAPIPE, GPU], []);
  assert.equal(offered.length, 1);
  assert.match(
    offered[0],
    /adapter 1 \(NVIDIA H100\) is a GPU: choose it with --adapter 1 or TROMPE_ADAPTER=1/,
  );
  const unreached = softwareWarnings(LAVAPIPE, [LAVAPIPE], ["/dev/nvidia0"]);
  assert.match(unreached[0], /this machine has GPUs \(\/dev\/nvidia0\): WebGPU did not reach them/);
  // Chosen by number, the software adapter is what the user asked for.
  assert.deepEqual(
    softwareWarnings({ ...LAVAPIPE, chosenBy: "--adapter" }, [LAVAPIPE, GPU], ["/dev/nvidia0"]),
    [],
  );
});

Deno.test("hostGpus: NVIDIA device nodes and render nodes bound to a GPU driver, not virtual ones", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(join(root, "dev"));
  for (const name of ["nvidia0", "nvidiactl", "nvidia1"]) {
    await Deno.writeTextFile(join(root, "dev", name), "");
  }
  const drm = join(root, "sys/class/drm");
  for (const [node, driver] of [["renderD128", "amdgpu"], ["renderD129", "virtio_gpu"], ["card0", "i915"]]) {
    await Deno.mkdir(join(root, "sys/bus/pci/drivers", driver), { recursive: true });
    await Deno.mkdir(join(drm, node, "device"), { recursive: true });
    await Deno.symlink(join(root, "sys/bus/pci/drivers", driver), join(drm, node, "device/driver"));
  }
  assert.deepEqual(hostGpus(root), ["/dev/nvidia0", "/dev/nvidia1", "renderD128 (amdgpu)"]);
  assert.deepEqual(hostGpus(join(root, "nowhere")), []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("the acquired adapter is summarised and written into every run record", async () => {
  const ctx = await acquireGpu();
  try {
    assert.equal(ctx.summary.index, 0);
    assert.ok(ctx.summary.of >= 1);
    assert.equal(ctx.summary.software, ctx.isCpu);
    const out = await Deno.makeTempDir();
    await writeRunRecord(out, { task: "probe", inputs: {}, settings: {} });
    const record = JSON.parse(await Deno.readTextFile(join(out, "probe.run.json")));
    assert.deepEqual(record.adapter, ctx.summary);
    await Deno.remove(out, { recursive: true });
  } finally {
    ctx.device.destroy();
  }
});
