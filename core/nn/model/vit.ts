/**
 * The DINOv2 ViT encoder of Depth Anything V2 (the `pretrained.*` weights) on WGSL: patch embedding, class
 * token, resized position embedding, `depth` pre-norm blocks
 *   x ← x + γ1 ⊙ attn(norm1(x));  x ← x + γ2 ⊙ ffn(norm2(x))
 * and, for the decoder, `get_intermediate_layers(x, config.layers, return_class_token=True)`: each chosen
 * block's output through the final `norm`, split into patch tokens and the class token.
 *
 * Inference frees every activation as soon as its last reader is recorded, so the pool's peak is one
 * block's working set (the attention scores chunk dominates) plus the weights. The stages are vit_stages.ts,
 * the training graph's own.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { release } from "../ops/release.ts";
import type { ModelConfig } from "./config.ts";
import { BlockStage, EmbeddingStage, featureForward } from "./vit_stages.ts";
import type { GpuWeights } from "./weights.ts";

/** One of the four features the DPT head reads. */
export interface VitLayerOutput {
  /** The block index (config.layers[i]). */
  block: number;
  /** [B, N, C]: patch tokens after the final norm, row-major over the h×w patch grid. */
  patches: Tensor;
  /** [B, C]: the class token after the final norm. */
  cls: Tensor;
}

export interface VitFeatures {
  /** In the order of config.layers; the caller frees them (`freeVitFeatures`). */
  layers: VitLayerOutput[];
  /** Patch grid: N = h·w, the input being 14h × 14w. */
  h: number;
  w: number;
  /** Intermediate tensors asked for with `keep` (names: patch_embed, pos_embed, block{i}); caller frees. */
  kept: Map<string, Tensor>;
}

export interface VitOptions {
  /** Names of intermediate tensors to keep for inspection (parity tests): patch_embed, pos_embed, block{i}. */
  keep?: ReadonlySet<string>;
}

/**
 * The encoder forward on `image` [B, 3, 14h, 14w] (normalised as the official `image2tensor` does),
 * recorded on `rt` (read the outputs with `rt.read`): the stages of vit_stages.ts in their freeing mode.
 */
export function vitForward(
  rt: Runtime,
  config: ModelConfig,
  weights: GpuWeights,
  image: Tensor,
  options: VitOptions = {},
): VitFeatures {
  if (config.layers.some((l) => l >= config.depth)) {
    throw new TrompeError("bad-argument", `layers ${config.layers} must be below depth ${config.depth}`);
  }
  const kept = new Map<string, Tensor>();
  const keep = (name: string, t: Tensor) => {
    if (!options.keep?.has(name)) return false;
    kept.set(name, t);
    return true;
  };

  const { x0, grid } = new EmbeddingStage(weights).forward(rt, image, false, keep);
  let x = x0;
  const layers: VitLayerOutput[] = [];
  const last = Math.max(...config.layers);
  for (let i = 0; i <= last; i++) {
    const next = new BlockStage(weights, i, config.heads, undefined, config.ffn).forward(rt, x);
    if (!kept.has(`block${i - 1}`)) release(rt, x);
    x = next;
    if (config.layers.includes(i)) {
      const layer = config.layers.indexOf(i);
      const { feat, cls } = featureForward(rt, weights, x, layer, { keep: false, cls: true });
      layers.push({ block: i, patches: feat, cls: cls! });
    }
    keep(`block${i}`, x);
  }
  if (!kept.has(`block${last}`)) release(rt, x);
  return {
    layers: config.layers.map((l) => layers.find((o) => o.block === l)!),
    h: grid.h,
    w: grid.w,
    kept,
  };
}

export function freeVitFeatures(rt: Runtime, features: VitFeatures): void {
  release(rt, ...features.layers.flatMap((l) => [l.patches, l.cls]), ...features.kept.values());
}
