/**
 * The whole model against the goldens: features, head_logits and depth from the golden `input`
 * (rel_l2 ≤ 1e-5 against float64) and depth_infer from the decoded image (≤ 1e-4), for tiny-a (metric),
 * tiny-b (relative) and the official ViT-S config (F16 weights shared with the ONNX model).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { DepthAnythingV2 } from "../../core/nn/model/depth_anything.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const rt = await Runtime.create();

const MODELS: { model: string; weights: string }[] = [
  { model: "tiny-a", weights: "tiny-a/weights.safetensors" },
  { model: "tiny-b", weights: "tiny-b/weights.pth" },
  { model: "vits", weights: "vits-518/weights.safetensors" },
];

for (const { model, weights } of MODELS) {
  sharedTest(
    `Depth Anything V2 ${model}: features, logits, depth and depth_infer match float64`,
    async () => {
      const dir = join(REFERENCE_DIR, model);
      const net = await DepthAnythingV2.load(join(REFERENCE_DIR, weights), {
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
        `${model} (${config.head}) rel_l2 vs _f64ref:`,
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
