/**
 * The DINOv2 ViT encoder of Depth Anything V2 (the `pretrained.*` weights) on WGSL: patch embedding, class
 * token, resized position embedding, `depth` pre-norm blocks
 *   x ← x + γ1 ⊙ attn(norm1(x));  x ← x + γ2 ⊙ ffn(norm2(x))
 * and, for the decoder, `get_intermediate_layers(x, config.layers, return_class_token=True)`: each chosen
 * block's output through the final `norm`, split into patch tokens and the class token.
 *
 * Inference frees every activation as soon as its last reader is recorded, so the pool's peak is one
 * block's working set (the attention scores chunk dominates) plus the weights.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { attentionForward } from "../ops/attention.ts";
import { geluForward } from "../ops/gelu.ts";
import { layerNormForward } from "../ops/layernorm.ts";
import { layerScaleResidual } from "../ops/layerscale.ts";
import { linearForward } from "../ops/linear.ts";
import { patchEmbedForward, patchGrid } from "../ops/patch_embed.ts";
import { posEmbedForward } from "../ops/pos_embed.ts";
import { release } from "../ops/release.ts";
import { swigluForward } from "../ops/swiglu.ts";
import { assembleTokens } from "../ops/tokens.ts";
import type { ModelConfig } from "./config.ts";
import type { GpuWeights } from "./weights.ts";

const PREFIX = "pretrained";

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
  /** Passed to attention: the largest scores buffer per chunk of heads. */
  maxScoreBytes?: number;
}

/** One block in inference mode: returns the new residual stream; frees its own intermediates. */
function blockForward(
  rt: Runtime,
  config: ModelConfig,
  weights: GpuWeights,
  x: Tensor,
  index: number,
  options: VitOptions,
): Tensor {
  const p = `${PREFIX}.blocks.${index}`;
  const act = `act/block${index}`;
  const n1 = layerNormForward(rt, x, weights.affine(`${p}.norm1`), `${act}/norm1`);
  const attn = attentionForward(
    rt,
    n1.y,
    { qkv: weights.linear(`${p}.attn.qkv`), proj: weights.linear(`${p}.attn.proj`) },
    { heads: config.heads, maxScoreBytes: options.maxScoreBytes },
    `${act}/attn`,
  );
  const x1 = layerScaleResidual(rt, x, attn.y, weights.get(`${p}.ls1.gamma`), `${act}/x1`);
  release(rt, n1.y, n1.saved.mean, n1.saved.rstd, attn.y, attn.saved.qkv, attn.saved.ctx);

  const n2 = layerNormForward(rt, x1, weights.affine(`${p}.norm2`), `${act}/norm2`);
  const swiglu = config.ffn === "swiglufused";
  const hidden = linearForward(rt, n2.y, weights.linear(`${p}.mlp.${swiglu ? "w12" : "fc1"}`), `${act}/fc1`);
  release(rt, n2.y, n2.saved.mean, n2.saved.rstd);
  const activated = swiglu
    ? swigluForward(rt, hidden, `${act}/gate`)
    : geluForward(rt, hidden, `${act}/gelu`);
  release(rt, hidden);
  const mlp = linearForward(rt, activated, weights.linear(`${p}.mlp.${swiglu ? "w3" : "fc2"}`), `${act}/fc2`);
  release(rt, activated);
  const x2 = layerScaleResidual(rt, x1, mlp, weights.get(`${p}.ls2.gamma`), `act/block${index}/out`);
  release(rt, x1, mlp);
  return x2;
}

/** The final norm of block `index`'s output, split into patch tokens and class token. */
function intermediate(rt: Runtime, weights: GpuWeights, x: Tensor, index: number): VitLayerOutput {
  const [batch, tokens, channels] = x.shape;
  const label = `act/features/${index}`;
  const normed = layerNormForward(rt, x, weights.affine(`${PREFIX}.norm`), `${label}/normed`);
  const patches = rt.tensor(`${label}/patches`, [batch, tokens - 1, channels]);
  const cls = rt.tensor(`${label}/cls`, [batch, channels]);
  const row = channels * 4;
  for (let b = 0; b < batch; b++) {
    rt.copy(normed.y, cls, row, b * tokens * row, b * row);
    rt.copy(normed.y, patches, (tokens - 1) * row, (b * tokens + 1) * row, b * (tokens - 1) * row);
  }
  release(rt, normed.y, normed.saved.mean, normed.saved.rstd);
  return { block: index, patches, cls };
}

/**
 * The encoder forward on `image` [B, 3, 14h, 14w] (normalised as the official `image2tensor` does),
 * recorded on `rt` (read the outputs with `rt.read`).
 */
export function vitForward(
  rt: Runtime,
  config: ModelConfig,
  weights: GpuWeights,
  image: Tensor,
  options: VitOptions = {},
): VitFeatures {
  const { h, w } = patchGrid(image, config.patchSize);
  if (config.layers.some((l) => l >= config.depth)) {
    throw new TrompeError("bad-argument", `layers ${config.layers} must be below depth ${config.depth}`);
  }
  const kept = new Map<string, Tensor>();
  const keep = (name: string, t: Tensor) => {
    if (!options.keep?.has(name)) return false;
    kept.set(name, t);
    return true;
  };

  const patches = patchEmbedForward(
    rt,
    image,
    weights.linear(`${PREFIX}.patch_embed.proj`),
    "act/patch_embed",
  );
  release(rt, patches.saved.cols);
  const pos = posEmbedForward(rt, weights.get(`${PREFIX}.pos_embed`), h, w, "act/pos_embed");
  let x = assembleTokens(rt, patches.y, weights.get(`${PREFIX}.cls_token`), pos, "act/tokens");
  if (!keep("patch_embed", patches.y)) release(rt, patches.y);
  if (!keep("pos_embed", pos)) release(rt, pos);

  const layers: VitLayerOutput[] = [];
  const last = Math.max(...config.layers);
  for (let i = 0; i <= last; i++) {
    const next = blockForward(rt, config, weights, x, i, options);
    if (!kept.has(`block${i - 1}`)) release(rt, x);
    x = next;
    if (config.layers.includes(i)) layers.push(intermediate(rt, weights, x, i));
    keep(`block${i}`, x);
  }
  if (!kept.has(`block${last}`)) release(rt, x);
  return { layers: config.layers.map((l) => layers.find((o) => o.block === l)!), h, w, kept };
}

export function freeVitFeatures(rt: Runtime, features: VitFeatures): void {
  release(rt, ...features.layers.flatMap((l) => [l.patches, l.cls]), ...features.kept.values());
}
