/**
 * The encoder's stages, once for inference and training: the patch, class-token and position embedding, one
 * DINOv2 block, and the final norm over an intermediate layer's tokens. Each forward either keeps what its
 * backward reads (`keep`, the training graph: core/train/model_backward.ts) or frees every intermediate as soon
 * as its last reader is recorded (inference: vit.ts); their outputs are bit-identical (where inference fuses —
 * GELU inside fc1's product, qkv and fc1 stored into the next product's operand texture — it computes the same
 * values in the same order; tests/train/train_step.test.ts holds training's policies bitwise equal). Each
 * backward hands parameter gradients to the sink.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import {
  attentionBackward,
  attentionForward,
  attentionInference,
  type AttentionKept,
  type AttentionSaved,
  attentionSavedTensors,
} from "../ops/attention.ts";
import { geluBackward, geluForward } from "../ops/gelu.ts";
import { mlpForward } from "../ops/mlp.ts";
import { layerNormBackward, layerNormForward, type LayerNormSaved } from "../ops/layernorm.ts";
import { layerScaleBackward, layerScaleForward } from "../ops/layerscale.ts";
import { linearBackward, linearForward, type LinearWeights } from "../ops/linear.ts";
import { layerScaleLinearBackward } from "../ops/layerscale_linear.ts";
import { patchEmbedBackward, patchEmbedForward, patchGrid } from "../ops/patch_embed.ts";
import { posEmbedBackward, posEmbedForward } from "../ops/pos_embed.ts";
import { release } from "../ops/release.ts";
import { swigluForward } from "../ops/swiglu.ts";
import { assembleTokensBackward, assembleTokensForward } from "../ops/tokens.ts";
import { type FfnKind, PATCH_SIZE } from "./config.ts";
import { affineGrads, completeAll, type GradientSink, linearGrads } from "./gradient_sink.ts";
import type { GpuWeights } from "./weights.ts";

export interface BlockSaved {
  s1: LayerNormSaved;
  n1: Tensor;
  attn: AttentionSaved;
  a: Tensor;
  x1: Tensor;
  s2: LayerNormSaved;
  n2: Tensor;
  h: Tensor;
}

export function blockOwned(s: BlockSaved): Tensor[] {
  return [
    s.s1.mean,
    s.s1.rstd,
    s.n1,
    ...attentionSavedTensors(s.attn),
    s.a,
    s.x1,
    s.s2.mean,
    s.s2.rstd,
    s.n2,
    s.h,
  ];
}

/** One DINOv2 block: x + ls1·attn(norm1(x)), then + ls2·ffn(norm2(·)) (an MLP, or SwiGLU for ViT-G). */
export class BlockStage {
  readonly prefix: string;
  readonly act: string;

  constructor(
    readonly w: GpuWeights,
    readonly index: number,
    readonly heads: number,
    /** The largest attention scores buffer (a chunk of heads); undefined: attention's own default. */
    readonly scoreBudget: number | undefined,
    readonly ffn: FfnKind = "mlp",
  ) {
    this.prefix = `pretrained.blocks.${index}`;
    this.act = `act/blocks.${index}`;
  }

  /** Head chunks within the budget, but at least one head and at most the binding limit. */
  private attention(rt: Runtime, tokens: number) {
    if (this.scoreBudget === undefined) return { heads: this.heads };
    const oneHead = tokens * tokens * 4;
    const limit = rt.ctx.limits.maxStorageBufferBindingSize;
    return { heads: this.heads, maxScoreBytes: Math.min(limit, Math.max(this.scoreBudget, oneHead)) };
  }

  private attnWeights() {
    return { qkv: this.w.linear(`${this.prefix}.attn.qkv`), proj: this.w.linear(`${this.prefix}.attn.proj`) };
  }

  /**
   * Inference: the block's output alone, every intermediate freed as soon as its last reader is recorded;
   * attention and the MLP on their paths that keep nothing (on a CPU adapter the qkv and fc1 products
   * write straight into the operand textures of the kernels that read them).
   */
  forward(rt: Runtime, x: Tensor): Tensor {
    const p = this.prefix;
    const { y: n1, saved: s1 } = layerNormForward(rt, x, this.w.affine(`${p}.norm1`), `${this.act}/norm1`);
    const attention = this.attention(rt, x.shape[1]);
    const a = attentionInference(rt, n1, this.attnWeights(), attention, `${this.act}/attn`);
    release(rt, n1, s1.mean, s1.rstd);
    const x1 = layerScaleForward(rt, x, a, this.w.get(`${p}.ls1.gamma`), `${this.act}/x1`);
    release(rt, a);
    const { y: n2, saved: s2 } = layerNormForward(rt, x1, this.w.affine(`${p}.norm2`), `${this.act}/norm2`);
    release(rt, s2.mean, s2.rstd);
    const mlp = (name: string) => this.w.linear(`${p}.mlp.${name}`);
    let m: Tensor;
    if (this.ffn === "swiglufused") {
      const h = linearForward(rt, n2, mlp("w12"), `${this.act}/fc1`);
      const g = swigluForward(rt, h, `${this.act}/gate`);
      release(rt, h);
      m = linearForward(rt, g, mlp("w3"), `${this.act}/fc2`);
      release(rt, g);
    } else {
      m = mlpForward(rt, n2, mlp("fc1"), mlp("fc2"), this.act);
    }
    release(rt, n2);
    const out = layerScaleForward(rt, x1, m, this.w.get(`${p}.ls2.gamma`), `${this.act}/out`);
    release(rt, x1, m);
    return out;
  }

  /**
   * Training: the output and what the backward reads (GELU's and fc2's outputs excepted: the backward
   * recomputes GELU from h, and needs no fc2 output: core/nn/ops/layerscale_linear.ts).
   */
  forwardKeep(rt: Runtime, x: Tensor): { out: Tensor; saved: BlockSaved } {
    const saved = this.keepToHidden(rt, x);
    const p = this.prefix;
    const g = geluForward(rt, saved.h, `${this.act}/gelu`);
    const m = linearForward(rt, g, this.w.linear(`${p}.mlp.fc2`), `${this.act}/fc2`);
    release(rt, g);
    const out = layerScaleForward(rt, saved.x1, m, this.w.get(`${p}.ls2.gamma`), `${this.act}/out`);
    release(rt, m);
    return { out, saved };
  }

  /**
   * The block's forward up to fc1's output, keeping everything the backward reads: `forwardKeep`'s first
   * part, and all a checkpointed block's recompute runs (its output is the next block's kept input). `kept`:
   * attention's ctx and statistics from the first forward (`forwardKeepAttention`), taken rather than computed
   * again.
   */
  keepToHidden(rt: Runtime, x: Tensor, kept?: AttentionKept): BlockSaved {
    const { s1, n1, attn, a, x1 } = this.attentionKeep(rt, x, kept);
    const p = this.prefix;
    const { y: n2, saved: s2 } = layerNormForward(rt, x1, this.w.affine(`${p}.norm2`), `${this.act}/norm2`);
    const h = linearForward(rt, n2, this.w.linear(`${p}.mlp.fc1`), `${this.act}/fc1`);
    return { s1, n1, attn, a, x1, s2, n2, h };
  }

  /**
   * Training's first forward of a block its backward recomputes: the output, and attention's saved tensors
   * alone (the fused attention's ctx and statistics, which the recompute takes). The MLP runs as inference
   * runs it (on a CPU adapter GELU rides in fc1's product, stored into fc2's operand texture): the same bits
   * as forwardKeep's (tests/train/train_step.test.ts holds the policies' steps bitwise equal).
   */
  forwardKeepAttention(rt: Runtime, x: Tensor): { out: Tensor; attn: AttentionSaved } {
    const { s1, n1, attn, a, x1 } = this.attentionKeep(rt, x);
    release(rt, s1.mean, s1.rstd, n1, a);
    const p = this.prefix;
    const { y: n2, saved: s2 } = layerNormForward(rt, x1, this.w.affine(`${p}.norm2`), `${this.act}/norm2`);
    release(rt, s2.mean, s2.rstd);
    const m = mlpForward(rt, n2, this.w.linear(`${p}.mlp.fc1`), this.w.linear(`${p}.mlp.fc2`), this.act);
    release(rt, n2);
    const out = layerScaleForward(rt, x1, m, this.w.get(`${p}.ls2.gamma`), `${this.act}/out`);
    release(rt, x1, m);
    return { out, attn };
  }

  /** x1 = x + ls1·attn(norm1(x)), keeping what attention's backward reads. */
  private attentionKeep(rt: Runtime, x: Tensor, kept?: AttentionKept) {
    if (this.ffn !== "mlp") {
      throw new TrompeError("unsupported", `training supports the MLP blocks, not ${this.ffn}`);
    }
    const p = this.prefix;
    const { y: n1, saved: s1 } = layerNormForward(rt, x, this.w.affine(`${p}.norm1`), `${this.act}/norm1`);
    const attention = this.attention(rt, x.shape[1]);
    const { y: a, saved: attn } = attentionForward(
      rt,
      n1,
      this.attnWeights(),
      attention,
      `${this.act}/attn`,
      kept,
    );
    const x1 = layerScaleForward(rt, x, a, this.w.get(`${p}.ls1.gamma`), `${this.act}/x1`);
    return { s1, n1, attn, a, x1 };
  }

  /** dStream (the gradient w.r.t. the block's output) becomes the gradient w.r.t. its input, in place. */
  backward(rt: Runtime, x: Tensor, s: BlockSaved, dStream: Tensor, sink: GradientSink): void {
    const p = this.prefix;
    const d = `grads/act/blocks.${this.index}`;
    const lin = (name: string): LinearWeights | undefined => linearGrads(sink, `${p}.${name}`);
    const done = (...names: string[]) => completeAll(sink, names.map((n) => `${p}.${n}`));

    // MLP branch: out = x1 + γ2·fc2(gelu(fc1(norm2(x1)))).
    const g = geluForward(rt, s.h, `${this.act}/gelu`);
    const dg = layerScaleLinearBackward(
      rt,
      g,
      this.w.linear(`${p}.mlp.fc2`),
      this.w.get(`${p}.ls2.gamma`),
      dStream,
      { linear: lin("mlp.fc2"), gamma: sink.grad(`${p}.ls2.gamma`) },
      `${d}/dg`,
    );
    done("ls2.gamma", "mlp.fc2.weight", "mlp.fc2.bias");
    release(rt, g);
    const dh = geluBackward(rt, s.h, dg, `${d}/dh`);
    release(rt, dg);
    const dn2 = linearBackward(rt, s.n2, this.w.linear(`${p}.mlp.fc1`), dh, lin("mlp.fc1"), `${d}/dn2`)!;
    done("mlp.fc1.weight", "mlp.fc1.bias");
    release(rt, dh);
    layerNormBackward(
      rt,
      s.x1,
      this.w.affine(`${p}.norm2`),
      s.s2,
      dn2,
      affineGrads(sink, `${p}.norm2`),
      `${d}/dx1`,
      dStream,
    );
    done("norm2.weight", "norm2.bias");
    release(rt, dn2);

    // Attention branch: x1 = x + γ1·attn(norm1(x)).
    const da = layerScaleBackward(
      rt,
      s.a,
      this.w.get(`${p}.ls1.gamma`),
      dStream,
      sink.grad(`${p}.ls1.gamma`),
      `${d}/da`,
    );
    done("ls1.gamma");
    const attnGrads = lin("attn.qkv") && { qkv: lin("attn.qkv")!, proj: lin("attn.proj")! };
    const dn1 = attentionBackward(
      rt,
      s.n1,
      this.attnWeights(),
      s.attn,
      da,
      attnGrads,
      this.attention(rt, x.shape[1]),
      `${d}/attn`,
    );
    done("attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias");
    release(rt, da);
    layerNormBackward(
      rt,
      x,
      this.w.affine(`${p}.norm1`),
      s.s1,
      dn1,
      affineGrads(sink, `${p}.norm1`),
      `${d}/dx`,
      dStream,
    );
    done("norm1.weight", "norm1.bias");
    release(rt, dn1);
  }
}

/** Patch embedding, class token, resized position embedding: image → x0 [B, 1+N, C]. */
export class EmbeddingStage {
  constructor(readonly w: GpuWeights) {}

  /**
   * `cols` (the patches as columns, which the projection's weight gradient reads) comes back with `keep` and is
   * freed without. `inspect` may hold on to the patch or position embedding (parity tests): true keeps it alive.
   */
  forward(
    rt: Runtime,
    image: Tensor,
    keep: boolean,
    inspect?: (name: "patch_embed" | "pos_embed", t: Tensor) => boolean,
  ): { x0: Tensor; cols?: Tensor; grid: { h: number; w: number } } {
    const grid = patchGrid(image, PATCH_SIZE);
    const { y: patches, saved } = patchEmbedForward(
      rt,
      image,
      this.w.linear("pretrained.patch_embed.proj"),
      "act/patch_embed",
    );
    if (!keep) release(rt, saved.cols);
    const pos = posEmbedForward(rt, this.w.get("pretrained.pos_embed"), grid.h, grid.w, "act/pos_embed");
    const x0 = assembleTokensForward(rt, patches, this.w.get("pretrained.cls_token"), pos, "act/tokens");
    if (!inspect?.("patch_embed", patches)) release(rt, patches);
    if (!inspect?.("pos_embed", pos)) release(rt, pos);
    return { x0, cols: keep ? saved.cols : undefined, grid };
  }

  backward(rt: Runtime, cols: Tensor, grid: { h: number; w: number }, dx0: Tensor, sink: GradientSink): void {
    const { dPos, dPatches } = assembleTokensBackward(
      rt,
      dx0,
      sink.grad("pretrained.cls_token"),
      "grads/act/tokens",
    );
    sink.complete("pretrained.cls_token");
    const dPosEmbed = sink.grad("pretrained.pos_embed");
    if (dPosEmbed) posEmbedBackward(rt, this.w.get("pretrained.pos_embed"), dPos, dPosEmbed, grid.h, grid.w);
    sink.complete("pretrained.pos_embed");
    const proj = linearGrads(sink, "pretrained.patch_embed.proj");
    if (proj) {
      patchEmbedBackward(
        rt,
        { cols },
        this.w.linear("pretrained.patch_embed.proj"),
        dPatches,
        proj,
        "grads/act/patch_embed",
      );
    }
    completeAll(sink, ["pretrained.patch_embed.proj.weight", "pretrained.patch_embed.proj.bias"]);
    release(rt, dPos, dPatches);
  }
}

/** One of get_intermediate_layers' outputs: a block's output through the final norm, split. */
export interface Feature {
  /** [B, N, C]: the patch tokens, row-major over the h×w patch grid (what the DPT head reads). */
  feat: Tensor;
  /** [B, C]: the class token, when asked for (Depth Anything V2's head does not read it). */
  cls?: Tensor;
  /** The norm's statistics, kept for the backward (`keep`); freed without. */
  stats?: LayerNormSaved;
}

/** get_intermediate_layers(x, layers, return_class_token=True) for one layer: the final norm, split. */
export function featureForward(
  rt: Runtime,
  w: GpuWeights,
  x: Tensor,
  i: number,
  o: { keep: boolean; cls?: boolean },
): Feature {
  const { y, saved } = layerNormForward(rt, x, w.affine("pretrained.norm"), `act/norm${i}`);
  const [batch, t, c] = x.shape;
  const feat = rt.tensor(`act/feat${i}`, [batch, t - 1, c]);
  const cls = o.cls ? rt.tensor(`act/cls${i}`, [batch, c]) : undefined;
  const row = c * 4;
  for (let b = 0; b < batch; b++) {
    if (cls) rt.copy(y, cls, row, b * t * row, b * row);
    rt.copy(y, feat, (t - 1) * row, (b * t + 1) * row, b * (t - 1) * row);
  }
  release(rt, y);
  if (!o.keep) release(rt, saved.mean, saved.rstd);
  return { feat, cls, stats: o.keep ? saved : undefined };
}

/** Adds the feature's gradient, through the final norm, into dStream (the gradient of the block output x). */
export function featureBackward(
  rt: Runtime,
  w: GpuWeights,
  x: Tensor,
  stats: LayerNormSaved,
  dFeat: Tensor,
  dStream: Tensor,
  sink: GradientSink,
  i: number,
): void {
  const [batch, t, c] = x.shape;
  // The class token's row gets no gradient from the head (Depth Anything V2 does not use it): zero.
  const dy = rt.tensor(`grads/act/norm${i}`, x.shape);
  const row = c * 4;
  for (let b = 0; b < batch; b++) rt.copy(dFeat, dy, (t - 1) * row, b * (t - 1) * row, (b * t + 1) * row);
  layerNormBackward(
    rt,
    x,
    w.affine("pretrained.norm"),
    stats,
    dy,
    affineGrads(sink, "pretrained.norm"),
    `grads/act/norm${i}/dx`,
    dStream,
  );
  release(rt, dy);
}
