/**
 * A freshly initialised Depth Anything V2, for models trained from nothing (the demo's small starting model).
 * The initialisation is the official one: DINOv2 draws linear weights and the position embedding from a normal
 * of std 0.02 truncated at ±2σ and the class token from a normal of std 1e-6, zero biases, unit LayerNorms and LayerScale (Depth
 * Anything V2 builds its encoders with init_values 1.0); the DPT head's convolutions keep PyTorch's default,
 * weight and bias uniform in ±1/√fan_in. Deterministic by seed: each tensor draws from its own stream.
 */
import type { StateDict } from "../../io/pth.ts";
import { Rng } from "../../rng.ts";
import { expectedShapes, saveCheckpoint } from "./checkpoint.ts";
import type { ModelConfig } from "./config.ts";

const STD = 0.02;

export function initialWeights(config: ModelConfig, seed: number): StateDict {
  const dict: StateDict = new Map();
  for (const [key, shape] of expectedShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const rng = Rng.derive(seed, "init", key);
    const encoder = key.startsWith("pretrained.");
    const isWeight = key.endsWith(".weight");
    if (/\.(norm\d?|ls\d)\.(weight|gamma)$/.test(key) || key === "pretrained.norm.weight") data.fill(1);
    else if (key === "pretrained.mask_token" || (encoder && key.endsWith(".bias"))) data.fill(0);
    else if (key === "pretrained.cls_token") {
      for (let i = 0; i < data.length; i++) data[i] = truncatedNormal(rng) * 1e-6;
    } else if (encoder && !key.includes("patch_embed")) {
      // Linear weights and pos_embed: truncated normal.
      for (let i = 0; i < data.length; i++) data[i] = truncatedNormal(rng) * STD;
    } else {
      // Convolutions (patch embedding, DPT head): PyTorch's default uniform bound from the weight's fan-in.
      const weightShape = isWeight ? shape : expectedShapes(config).get(key.replace(/\.bias$/, ".weight"))!;
      const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-bound, bound);
    }
    dict.set(key, { shape, data });
  }
  return dict;
}

/** Standard normal truncated to ±2 (redrawn outside), by Box–Muller. */
function truncatedNormal(rng: Rng): number {
  for (;;) {
    const u = Math.max(rng.uniform(0, 1), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.uniform(0, 1));
    if (Math.abs(z) <= 2) return z;
  }
}

/**
 * Writes a freshly initialised model as a trompe safetensors checkpoint whose provenance says so: the start
 * of a model trained from nothing, kept beside its run so the run can be repeated and resumed.
 */
export async function saveInitialCheckpoint(path: string, config: ModelConfig, seed: number): Promise<void> {
  await saveCheckpoint(path, {
    config,
    stateDict: initialWeights(config, seed),
    provenance: { data: "random initialisation (DINOv2's for the encoder, PyTorch's for the head)", seed },
  });
}
