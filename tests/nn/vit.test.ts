import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/io/safetensors.ts";
import { loadCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { freeVitFeatures, vitForward } from "../../core/nn/model/vit.ts";
import { freeWeights, uploadWeights } from "../../core/nn/model/weights.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const rt = await Runtime.create();

const MODELS = {
  "tiny-a": { weights: "tiny-a/weights.safetensors", config: "tiny-a/config.json" },
  "tiny-b": { weights: "tiny-b/weights.safetensors", config: "tiny-b/config.json" },
  "vits": { weights: "vits-518/weights.safetensors", config: "vits/config.json" },
} as const;

/** Runs the encoder on the golden input; returns every compared tensor's rel_l2 against the references. */
async function parity(model: keyof typeof MODELS, depthKept: boolean) {
  const { config, stateDict } = await loadCheckpoint(join(REFERENCE_DIR, MODELS[model].weights), {
    configFile: join(REFERENCE_DIR, MODELS[model].config),
  });
  const golden = await readSafetensors(join(REFERENCE_DIR, model, "golden.safetensors"));
  const weights = uploadWeights(rt, stateDict, (k) => k.startsWith("pretrained."));
  const input = rt.upload("act/input", golden.shape("input"), golden.float32("input"));
  const keep = new Set(
    depthKept ? ["patch_embed", "pos_embed", ...[...Array(config.depth).keys()].map((i) => `block${i}`)] : [],
  );
  const features = vitForward(rt, config, weights, input, { keep });
  const got = new Map<string, Float32Array>();
  for (const [i, layer] of features.layers.entries()) {
    got.set(`feat${i}`, await rt.read(layer.patches));
    got.set(`cls${i}`, await rt.read(layer.cls));
  }
  for (const [name, t] of features.kept) got.set(`dbg/${name}`, await rt.read(t));
  freeVitFeatures(rt, features);
  freeWeights(rt, weights);
  rt.free(input);
  return { got, golden };
}

function compare(got: Map<string, Float32Array>, golden: SafetensorsFile, model: string): void {
  const lines: string[] = [];
  let worst = 0;
  for (const [name, values] of got) {
    const parts = [name];
    if (golden.has(name)) parts.push(`vs torch f32 ${relL2(values, golden.float64(name)).toExponential(2)}`);
    if (golden.has(`${name}_f64ref`)) {
      const rel = relL2(values, golden.float64(`${name}_f64ref`));
      parts.push(`vs f64ref ${rel.toExponential(2)}`);
      worst = Math.max(worst, rel);
    }
    lines.push(parts.join(" "));
  }
  console.log(`${model} encoder parity:\n  ${lines.join("\n  ")}`);
  assert.ok(worst <= 1e-5, `${model}: worst rel_l2 vs _f64ref ${worst}`);
}

for (const model of ["tiny-a", "tiny-b"] as const) {
  sharedTest(
    `ViT encoder parity with the official code (${model}): dbg tensors, feat0..3, cls0..3`,
    async () => {
      const { got, golden } = await parity(model, true);
      compare(got, golden, model);
    },
  );
}

sharedTest("ViT encoder recompute is bit-identical (tiny-b)", async () => {
  const a = await parity("tiny-b", false);
  const b = await parity("tiny-b", false);
  for (const [name, values] of a.got) {
    assert.deepEqual(new Uint8Array(b.got.get(name)!.buffer), new Uint8Array(values.buffer), name);
  }
});

sharedTest("ViT encoder parity with the official code (vits, 518×784, F16 weights upcast)", async () => {
  const { got, golden } = await parity("vits", false);
  compare(got, golden, "vits");
});
