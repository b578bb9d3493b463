/**
 * The whole model against the goldens: features, head_logits and depth from the golden `input`
 * (rel_l2 ≤ 1e-5 against float64) and depth_infer from the decoded image (≤ 1e-4), for tiny-a (metric),
 * tiny-b (relative) and the official ViT-S config (F16 weights shared with the ONNX model).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { loadDepthAnythingV2 } from "../../core/nn/model/load.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const device = await Runtime.create();
/**
 * The device taken as a CPU adapter and as a GPU, whatever it is: the ViT and DPT stages pick their kernels
 * by `isCpu` (on a GPU the 128-tile matmul, the GPU attention and conv kernels), so both sets are held to
 * the goldens on any machine.
 */
const cpuRt = new Runtime({ ...device.ctx, isCpu: true });
const gpuRt = new Runtime({ ...device.ctx, isCpu: false });

const MODELS: { model: string; weights: string }[] = [
  { model: "tiny-a", weights: "tiny-a/weights.safetensors" },
  { model: "tiny-b", weights: "tiny-b/weights.pth" },
  { model: "vits", weights: "vits-518/weights.safetensors" },
];

// ViT-S on the GPU kernels takes minutes on a CPU: bench/gpu_check.sh runs the tiny models on a real GPU.
const RUNS = [
  ...MODELS.map((m) => ({ ...m, kernels: "CPU-adapter", rt: cpuRt })),
  ...MODELS.filter((m) => m.model !== "vits").map((m) => ({ ...m, kernels: "GPU", rt: gpuRt })),
];

for (const { model, weights, kernels, rt } of RUNS) {
  sharedTest(
    `Depth Anything V2 ${model} on the ${kernels} kernels: features, logits, depth and depth_infer match float64`,
    async () => {
      const dir = join(REFERENCE_DIR, model);
      const net = await loadDepthAnythingV2(join(REFERENCE_DIR, weights), {
        configFile: join(dir, "config.json"),
      }, rt);
      const golden = await readSafetensors(join(dir, "golden.safetensors"));
      const errors: Record<string, number> = {};
      const compare = (name: string, got: Float32Array) => {
        if (golden.has(`${name}_f64ref`)) errors[name] = relL2(got, golden.float64(`${name}_f64ref`));
      };
      const input = rt.upload("act/input", golden.shape("input"), golden.float32("input"));
      const { logits, depth } = await net.forwardTensor(input, async (name, t) => {
        if (/^feat\d$|^head_logits$|^depth$/.test(name)) compare(name, await rt.read(t));
      });
      rt.flush();
      rt.free(input, logits, depth);

      const [height, width] = golden.shape("image_rgb_u8");
      const rgb = { width, height, channels: 3 as const, data: golden.raw("image_rgb_u8") as Uint8Array };
      const { config } = net;
      const result = await net.infer(
        rgb,
        JSON.parse(await Deno.readTextFile(join(dir, "config.json"))).inputSize,
      );
      compare("depth_infer", result.depth);
      console.log(
        `${model} (${config.head}, ${kernels} kernels) rel_l2 vs _f64ref:`,
        Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", "),
      );
      for (const [name, e] of Object.entries(errors)) {
        assert(e <= (name === "depth_infer" ? 1e-4 : 1e-5), `${name} ${e}`);
      }
      assert(Object.keys(errors).length >= 5);
      net.dispose();
      assert.deepEqual(
        rt.pool.liveLabels().filter((l) => !l.startsWith("tmp/")),
        [],
      );
    },
  );
}
