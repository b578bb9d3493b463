import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { loadDepthAnythingV2 } from "../../core/nn/model/load.ts";
import { externalDataLocations, OnnxEngine } from "../../core/nn/onnx_engine.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

sharedTest("ONNX engine: tiny-a/model.onnx on the golden input matches depth_f64ref", async () => {
  const engine = await OnnxEngine.open(join(REFERENCE_DIR, "tiny-a/model.onnx"), { numThreads: 1 });
  assert.equal(engine.inputName, "image");
  assert.equal(engine.outputName, "depth");
  assert.deepEqual(engine.fixedInput, { height: 70, width: 98 });
  const golden = await readSafetensors(join(REFERENCE_DIR, "tiny-a/golden.safetensors"));
  const depth = await engine.forward(golden.float32("input"), 70, 98);
  const error = relL2(depth, golden.float64("depth_f64ref"));
  console.log(`tiny-a ONNX depth rel_l2 vs depth_f64ref: ${error.toExponential(2)}`);
  assert(error < 1e-5, `rel_l2 ${error}`);
  engine.dispose();
});

sharedTest(
  "ONNX engine: vits-518 finds its external weights by location and equals the WGSL ViT-S",
  async () => {
    const path = join(REFERENCE_DIR, "vits-518/model.onnx");
    assert.deepEqual(externalDataLocations(await Deno.readFile(path)), ["weights.safetensors"]);
    const engine = await OnnxEngine.open(path, { numThreads: 2 });
    assert.deepEqual(engine.fixedInput, { height: 518, width: 518 });
    // A real picture, not zeros (whose depth the sigmoid keeps in range whatever the weights): the left
    // 518 columns of the ViT-S golden input (1×3×518×784), through both engines. The WGSL model is held to
    // PyTorch's float64 goldens in depth_anything.test.ts, so this also holds the ONNX path to them.
    const golden = await readSafetensors(join(REFERENCE_DIR, "vits/golden.safetensors"));
    const [, , height, width] = golden.shape("input");
    const full = golden.float32("input");
    const input = new Float32Array(3 * 518 * 518);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 518; y++) {
        input.set(
          full.subarray((c * height + y) * width, (c * height + y) * width + 518),
          (c * 518 + y) * 518,
        );
      }
    }
    const depth = await engine.forward(input, 518, 518);
    engine.dispose();
    assert.equal(depth.length, 518 * 518);
    const wgsl = await loadDepthAnythingV2(join(REFERENCE_DIR, "vits-518/weights.safetensors"), {
      configFile: join(REFERENCE_DIR, "vits/config.json"),
    });
    const reference = await wgsl.forward(input, 518, 518);
    wgsl.dispose();
    const error = relL2(depth, reference);
    console.log(`vits-518 ONNX vs WGSL depth rel_l2: ${error.toExponential(2)}`);
    assert(error <= 1e-4, `rel_l2 ${error}`);
  },
);

Deno.test("ONNX engine: a file that is not a model is a clear error", async () => {
  const path = await Deno.makeTempFile({ suffix: ".onnx" });
  await Deno.writeTextFile(path, "not a protobuf");
  await assert.rejects(
    OnnxEngine.open(path),
    (e: Error) => e.name === "TrompeError" && /cannot load/.test(e.message),
  );
  await Deno.remove(path);
});

sharedTest("ONNX engine and the WGSL model agree on tiny-a's golden input", async () => {
  const dir = join(REFERENCE_DIR, "tiny-a");
  const onnx = await OnnxEngine.open(join(dir, "model.onnx"), { numThreads: 1 });
  const wgsl = await loadDepthAnythingV2(join(dir, "weights.safetensors"), {
    configFile: join(dir, "config.json"),
  });
  const input = (await readSafetensors(join(dir, "golden.safetensors"))).float32("input");
  const a = await onnx.forward(input, 70, 98);
  const b = await wgsl.forward(input, 70, 98);
  const error = relL2(b, a);
  console.log(`tiny-a WGSL vs ONNX depth rel_l2: ${error.toExponential(2)}`);
  assert(error <= 1e-4, `rel_l2 ${error}`);
  onnx.dispose();
  wgsl.dispose();
});

sharedTest("after a threaded ONNX session, Deno's own module workers still start and answer", async () => {
  const worker = globalThis.Worker;
  const engine = await OnnxEngine.open(join(REFERENCE_DIR, "tiny-a/model.onnx"), { numThreads: 2 });
  assert.equal(globalThis.Worker, worker);
  const source = "self.onmessage = (e) => self.postMessage(e.data * 2);";
  const url = `data:application/javascript,${encodeURIComponent(source)}`;
  const echo = new Worker(url, { type: "module" });
  const reply = new Promise((resolve) => (echo.onmessage = (e) => resolve(e.data)));
  echo.postMessage(21);
  assert.equal(await reply, 42);
  echo.terminate();
  assert.equal((await engine.forward(new Float32Array(3 * 70 * 98).fill(0.1), 70, 98)).length, 70 * 98);
});
