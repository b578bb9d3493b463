/**
 * Depth Anything V2's training graph on the WGSL ops: a forward that keeps what the backward reads (or, per
 * the checkpoint policy, only stage boundaries), and a backward that hands every parameter's gradient to a
 * `GradientSink` the moment it is complete — after the last op that reads that parameter's weight — so the
 * trainer can apply AdamW and free the gradient at once. A whole-model gradient never exists.
 *
 * The forward runs the same ops in the same order as the inference model (core/nn/model/vit.ts, dpt.ts), so
 * its depth equals theirs; a recomputed stage runs its forward again with the same kernels, bit-identical.
 *
 * Memory discipline: every tensor is freed as soon as its last reader is recorded; the residual stream's
 * gradient is one buffer that each block's backward accumulates into in place; GELU's output is recomputed
 * from its input in the backward instead of being kept.
 */
import { add, axpy } from "../gpu/elementwise.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { TrompeError } from "../errors.ts";
import { type ModelConfig, PATCH_SIZE } from "../nn/model/config.ts";
import { FusionBlock } from "../nn/model/dpt.ts";
import type { GpuWeights } from "../nn/model/weights.ts";
import { attentionBackward, attentionForward, type AttentionSaved } from "../nn/ops/attention.ts";
import { Conv2d, type Conv2dOptions, type Conv2dSaved } from "../nn/ops/conv2d.ts";
import { ConvTranspose2d, type ConvTransposeSaved } from "../nn/ops/conv_transpose.ts";
import { geluBackward, geluForward } from "../nn/ops/gelu.ts";
import { layerNormBackward, layerNormForward, type LayerNormSaved } from "../nn/ops/layernorm.ts";
import { layerScaleBackward, layerScaleResidual } from "../nn/ops/layerscale.ts";
import { linearBackward, linearForward, type LinearWeights } from "../nn/ops/linear.ts";
import { patchEmbedBackward, patchEmbedForward, patchGrid } from "../nn/ops/patch_embed.ts";
import { posEmbedBackward, posEmbedForward } from "../nn/ops/pos_embed.ts";
import { release } from "../nn/ops/release.ts";
import { reluBackward, reluForward } from "../nn/ops/relu.ts";
import { ResizeBilinear, type ResizeSaved } from "../nn/ops/resize_bilinear.ts";
import { sigmoidBackward, sigmoidForward } from "../nn/ops/sigmoid.ts";
import { assembleTokens, assembleTokensBackward } from "../nn/ops/tokens.ts";
import { type CheckpointPolicy, recomputes } from "./checkpointing.ts";

/** Where the backward puts parameter gradients. */
export interface GradientSink {
  /** A zeroed gradient buffer for `key`, made on first request; undefined for a frozen parameter. */
  grad(key: string): Tensor | undefined;
  /** Every contribution to `key`'s gradient is recorded and its weight is read no more this step. */
  complete(key: string): void;
}

const HEAD = "depth_head";

/** Tensors a stage owns and frees after its backward (its inputs belong to the stage before it). */
function freeOwned(rt: Runtime, owned: readonly (Tensor | undefined)[]): void {
  const live = owned.filter((t): t is Tensor => t !== undefined);
  if (live.length > 0) release(rt, ...new Set(live));
}

// ---------------------------------------------------------------------------------------------------------
// Encoder

interface BlockSaved {
  s1: LayerNormSaved;
  n1: Tensor;
  attn: AttentionSaved;
  a: Tensor;
  x1: Tensor;
  s2: LayerNormSaved;
  n2: Tensor;
  h: Tensor;
  m: Tensor;
}

function blockOwned(s: BlockSaved): Tensor[] {
  return [
    s.s1.mean,
    s.s1.rstd,
    s.n1,
    s.attn.qkv,
    s.attn.ctx,
    s.a,
    s.x1,
    s.s2.mean,
    s.s2.rstd,
    s.n2,
    s.h,
    s.m,
  ];
}

/** One DINOv2 block: x + ls1·attn(norm1(x)), then + ls2·mlp(norm2(·)). */
class BlockStage {
  readonly prefix: string;
  readonly act: string;

  constructor(
    readonly w: GpuWeights,
    readonly index: number,
    readonly heads: number,
    readonly scoreBudget: number,
  ) {
    this.prefix = `pretrained.blocks.${index}`;
    this.act = `act/blocks.${index}`;
  }

  /** Head chunks within the budget, but at least one head and at most the binding limit. */
  private attention(rt: Runtime, tokens: number) {
    const oneHead = tokens * tokens * 4;
    const limit = rt.ctx.limits.maxStorageBufferBindingSize;
    return { heads: this.heads, maxScoreBytes: Math.min(limit, Math.max(this.scoreBudget, oneHead)) };
  }

  private attnWeights() {
    return { qkv: this.w.linear(`${this.prefix}.attn.qkv`), proj: this.w.linear(`${this.prefix}.attn.proj`) };
  }

  forward(rt: Runtime, x: Tensor): { out: Tensor; saved: BlockSaved } {
    const p = this.prefix;
    const { y: n1, saved: s1 } = layerNormForward(rt, x, this.w.affine(`${p}.norm1`), `${this.act}/norm1`);
    const { y: a, saved: attn } = attentionForward(
      rt,
      n1,
      this.attnWeights(),
      this.attention(rt, x.shape[1]),
      `${this.act}/attn`,
    );
    const x1 = layerScaleResidual(rt, x, a, this.w.get(`${p}.ls1.gamma`), `${this.act}/x1`);
    const { y: n2, saved: s2 } = layerNormForward(rt, x1, this.w.affine(`${p}.norm2`), `${this.act}/norm2`);
    const h = linearForward(rt, n2, this.w.linear(`${p}.mlp.fc1`), `${this.act}/fc1`);
    const g = geluForward(rt, h, `${this.act}/gelu`);
    const m = linearForward(rt, g, this.w.linear(`${p}.mlp.fc2`), `${this.act}/fc2`);
    // GELU is cheap to recompute from h: its output is not kept.
    release(rt, g);
    const out = layerScaleResidual(rt, x1, m, this.w.get(`${p}.ls2.gamma`), `${this.act}/out`);
    return { out, saved: { s1, n1, attn, a, x1, s2, n2, h, m } };
  }

  /** dStream (the gradient w.r.t. the block's output) becomes the gradient w.r.t. its input, in place. */
  backward(rt: Runtime, x: Tensor, s: BlockSaved, dStream: Tensor, sink: GradientSink): void {
    const p = this.prefix;
    const d = `grads/act/blocks.${this.index}`;
    const lin = (name: string): LinearWeights | undefined => linearGrads(sink, `${p}.${name}`);
    const done = (...names: string[]) => completeAll(sink, names.map((n) => `${p}.${n}`));

    // MLP branch: out = x1 + γ2·fc2(gelu(fc1(norm2(x1)))).
    const dm = layerScaleBackward(
      rt,
      s.m,
      this.w.get(`${p}.ls2.gamma`),
      dStream,
      sink.grad(`${p}.ls2.gamma`),
      `${d}/dm`,
    );
    done("ls2.gamma");
    const g = geluForward(rt, s.h, `${this.act}/gelu`);
    const dg = linearBackward(rt, g, this.w.linear(`${p}.mlp.fc2`), dm, lin("mlp.fc2"), `${d}/dg`)!;
    done("mlp.fc2.weight", "mlp.fc2.bias");
    release(rt, g, dm);
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

function linearGrads(sink: GradientSink, prefix: string): LinearWeights | undefined {
  const weight = sink.grad(`${prefix}.weight`);
  return weight && { weight, bias: sink.grad(`${prefix}.bias`) };
}

function affineGrads(sink: GradientSink, prefix: string) {
  const weight = sink.grad(`${prefix}.weight`);
  const bias = sink.grad(`${prefix}.bias`);
  return weight && bias ? { weight, bias } : undefined;
}

function completeAll(sink: GradientSink, keys: readonly string[]): void {
  for (const key of keys) sink.complete(key);
}

/** Patch embedding, class token, resized position embedding: image → x0 [B, 1+N, C]. */
class EmbeddingStage {
  constructor(readonly w: GpuWeights) {}

  forward(rt: Runtime, image: Tensor): { x0: Tensor; cols: Tensor; grid: { h: number; w: number } } {
    const grid = patchGrid(image, PATCH_SIZE);
    const { y: patches, saved } = patchEmbedForward(
      rt,
      image,
      this.w.linear("pretrained.patch_embed.proj"),
      "act/patch_embed",
    );
    const pos = posEmbedForward(rt, this.w.get("pretrained.pos_embed"), grid.h, grid.w, "act/pos_embed");
    const x0 = assembleTokens(rt, patches, this.w.get("pretrained.cls_token"), pos, "act/tokens");
    release(rt, patches, pos);
    return { x0, cols: saved.cols, grid };
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

/** get_intermediate_layers: the final norm of a block's output, patch tokens only. */
function featureForward(
  rt: Runtime,
  w: GpuWeights,
  x: Tensor,
  i: number,
): { feat: Tensor; stats: LayerNormSaved } {
  const { y, saved } = layerNormForward(rt, x, w.affine("pretrained.norm"), `act/norm${i}`);
  const [batch, t, c] = x.shape;
  const feat = rt.tensor(`act/feat${i}`, [batch, t - 1, c]);
  const row = c * 4;
  for (let b = 0; b < batch; b++) rt.copy(y, feat, (t - 1) * row, (b * t + 1) * row, b * (t - 1) * row);
  release(rt, y);
  return { feat, stats: saved };
}

/** Adds the feature's gradient, through the final norm, into dStream (the gradient of the block output x). */
function featureBackward(
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

// ---------------------------------------------------------------------------------------------------------
// Head

function conv(w: GpuWeights, name: string, options: Conv2dOptions = {}, bias = true): Conv2d {
  return new Conv2d(name, w.get(`${name}.weight`), bias ? w.get(`${name}.bias`) : undefined, options);
}

/** Conv2d and ConvTranspose2d as the backward uses them. */
interface ConvLike<S> {
  readonly name: string;
  readonly bias?: Tensor;
  backward(
    rt: Runtime,
    saved: S,
    dy: Tensor,
    targets: { weight?: Tensor; bias?: Tensor; input?: boolean; maskInputBy?: Tensor },
  ): Tensor | undefined;
}

/**
 * A conv's backward in two passes: the weight and bias gradients, then — once `freeBetween` (tensors only
 * the weight gradient reads, typically the conv's input) is freed — the input gradient, so an input and the
 * gradient that replaces it are never live together. Completion comes last: the input gradient reads the
 * weight.
 */
function convBackward<S>(
  rt: Runtime,
  c: ConvLike<S>,
  saved: S,
  dy: Tensor,
  sink: GradientSink,
  needInput: boolean,
  freeBetween: readonly Tensor[] = [],
  /** Zero the input gradient where this is ≤ 0: a ReLU that produced the conv's input. */
  maskInputBy?: Tensor,
): Tensor | undefined {
  const weight = sink.grad(`${c.name}.weight`);
  const bias = c.bias ? sink.grad(`${c.name}.bias`) : undefined;
  if (weight || bias) c.backward(rt, saved, dy, { weight, bias, input: false });
  if (freeBetween.length > 0) release(rt, ...new Set(freeBetween));
  const dx = needInput ? c.backward(rt, saved, dy, { input: true, maskInputBy }) : undefined;
  sink.complete(`${c.name}.weight`);
  if (c.bias) sink.complete(`${c.name}.bias`);
  return dx;
}

interface BranchSaved {
  sProject: Conv2dSaved;
  sResize?: Conv2dSaved | ConvTransposeSaved;
  sRn: Conv2dSaved;
  projected: Tensor;
  /** The same tensor as `projected` for branch 2 (no resampling). */
  resized: Tensor;
}

function branchOwned(s: BranchSaved): Tensor[] {
  return [s.projected, s.resized];
}

/** Branch i: projects[i] (1×1 on tokens) → resize_layers[i] → layer{i+1}_rn. */
class BranchStage {
  readonly project: Conv2d;
  readonly up?: ConvTranspose2d;
  readonly down?: Conv2d;
  readonly rn: Conv2d;

  constructor(w: GpuWeights, readonly index: number) {
    this.project = conv(w, `${HEAD}.projects.${index}`);
    if (index < 2) {
      const name = `${HEAD}.resize_layers.${index}`;
      this.up = new ConvTranspose2d(
        name,
        w.get(`${name}.weight`),
        w.get(`${name}.bias`),
        index === 0 ? 4 : 2,
      );
    }
    if (index === 3) this.down = conv(w, `${HEAD}.resize_layers.3`, { stride: 2, pad: 1 });
    this.rn = conv(w, `${HEAD}.scratch.layer${index + 1}_rn`, { pad: 1 }, false);
  }

  forward(rt: Runtime, feat: Tensor, grid: readonly [number, number]): { rn: Tensor; saved: BranchSaved } {
    const { y: projected, saved: sProject } = this.project.forward(rt, { x: feat, grid });
    let resized = projected;
    let sResize: BranchSaved["sResize"];
    if (this.up) ({ y: resized, saved: sResize } = this.up.forward(rt, projected));
    if (this.down) ({ y: resized, saved: sResize } = this.down.forward(rt, { x: projected }));
    const { y: rn, saved: sRn } = this.rn.forward(rt, { x: resized });
    return { rn, saved: { sProject, sResize, sRn, projected, resized } };
  }

  /** Consumes dRn, the saved tensors and the feature; returns the feature's gradient when asked for. */
  backward(
    rt: Runtime,
    s: BranchSaved,
    feat: Tensor,
    dRn: Tensor,
    sink: GradientSink,
    needFeat: boolean,
  ): Tensor | undefined {
    const resampled = s.resized !== s.projected;
    const dResized = convBackward(rt, this.rn, s.sRn, dRn, sink, true, resampled ? [s.resized] : [])!;
    release(rt, dRn);
    let dProjected = dResized;
    if (this.up) {
      dProjected = convBackward(rt, this.up, s.sResize as ConvTransposeSaved, dResized, sink, true, [
        s.projected,
      ])!;
    }
    if (this.down) {
      dProjected = convBackward(rt, this.down, s.sResize as Conv2dSaved, dResized, sink, true, [
        s.projected,
      ])!;
    }
    if (resampled) release(rt, dResized);
    else release(rt, s.projected);
    const dFeat = convBackward(rt, this.project, s.sProject, dProjected, sink, needFeat, [feat]);
    release(rt, dProjected);
    return dFeat;
  }
}

interface FusionSaved {
  sIn1?: Conv2dSaved;
  sIn2?: Conv2dSaved;
  sMid1: Conv2dSaved;
  sMid2: Conv2dSaved;
  sOut: Conv2dSaved;
  resize: ResizeBilinear;
  sResize: ResizeSaved;
  /** rcu1's hidden map and output (only with a coarser input). */
  h1?: Tensor;
  x?: Tensor;
  /** rcu2's hidden map and output. */
  h2: Tensor;
  y: Tensor;
}

function fusionOwned(s: FusionSaved): Tensor[] {
  return [s.h1, s.x, s.h2, s.y].filter((t): t is Tensor => t !== undefined);
}

/**
 * refinenet{i+1}: (prev + rcu1(skip)) → rcu2 → out_conv → bilinear resize, in dpt.ts's FusionBlock order
 * (out_conv before the resize; the sum riding in as rcu1's residual).
 */
class FusionStage {
  readonly block: FusionBlock;

  constructor(w: GpuWeights, readonly index: number) {
    this.block = new FusionBlock((key) => w.get(key), `${HEAD}.scratch.refinenet${index + 1}`);
  }

  forward(
    rt: Runtime,
    prev: Tensor | undefined,
    skip: Tensor,
    size: readonly [number, number],
  ): { out: Tensor; saved: FusionSaved } {
    const b = this.block;
    let x = skip;
    let rcu1: { sIn1: Conv2dSaved; sIn2: Conv2dSaved; h1: Tensor; x: Tensor } | undefined;
    if (prev) {
      const sum = rt.tensor(`act/${b.name}/sum`, skip.shape);
      add(rt, skip, prev, sum, { label: `${b.name}.sum` });
      const c1 = b.rcu1.conv1.forward(rt, { x: skip });
      const c2 = b.rcu1.conv2.forward(rt, { x: c1.y, residual: sum });
      release(rt, sum);
      x = c2.y;
      rcu1 = { sIn1: c1.saved, sIn2: c2.saved, h1: c1.y, x };
    }
    const m1 = b.rcu2.conv1.forward(rt, { x });
    const m2 = b.rcu2.conv2.forward(rt, { x: m1.y, residual: x });
    const o = b.outConv.forward(rt, { x: m2.y });
    const resize = new ResizeBilinear(`${b.name}.resize`, size[0], size[1]);
    const r = resize.forward(rt, o.y);
    // The resize's backward needs only shapes: out_conv's output goes now.
    release(rt, o.y);
    return {
      out: r.y,
      saved: {
        ...rcu1,
        sMid1: m1.saved,
        sMid2: m2.saved,
        sOut: o.saved,
        resize,
        sResize: r.saved,
        h2: m1.y,
        y: m2.y,
      },
    };
  }

  /** Consumes dOut and the saved tensors; returns the gradients of skip and (when there is one) prev. */
  backward(rt: Runtime, s: FusionSaved, dOut: Tensor, sink: GradientSink): { dSkip: Tensor; dPrev?: Tensor } {
    const b = this.block;
    const dz = s.resize.backward(rt, s.sResize, dOut);
    release(rt, dOut);
    const dy = convBackward(rt, b.outConv, s.sOut, dz, sink, true, [s.y])!;
    release(rt, dz);
    // rcu2: y = conv2(relu(h2)) + x with h2 = conv1(relu(x)), so dx = dy + the conv path's gradient.
    const dh2 = convBackward(rt, b.rcu2.conv2, s.sMid2, dy, sink, true)!;
    release(rt, s.h2);
    const dxConv = convBackward(rt, b.rcu2.conv1, s.sMid1, dh2, sink, true)!;
    axpy(rt, dxConv, dy, 1, `${b.name}.rcu2.skip_grad`);
    release(rt, dh2, dxConv);
    if (!s.sIn1) return { dSkip: dy };
    release(rt, s.x!);
    // rcu1: x = conv2(relu(h1)) + skip + prev: prev's gradient is dx, skip's adds the conv path's.
    const dh1 = convBackward(rt, b.rcu1.conv2, s.sIn2!, dy, sink, true)!;
    release(rt, s.h1!);
    const dSkip = convBackward(rt, b.rcu1.conv1, s.sIn1, dh1, sink, true)!;
    axpy(rt, dy, dSkip, 1, `${b.name}.rcu1.skip_grad`);
    release(rt, dh1);
    return { dSkip, dPrev: dy };
  }
}

interface OutputSaved {
  sConv1: Conv2dSaved;
  upsample: ResizeBilinear;
  sUp: ResizeSaved;
  sHidden: Conv2dSaved;
  sLogits: Conv2dSaved;
  up: Tensor;
  hidden: Tensor;
  logits: Tensor;
}

function outputOwned(s: OutputSaved): Tensor[] {
  return [s.up, s.hidden, s.logits];
}

/** output_conv1 → bilinear to 14·patches → output_conv2 (3×3, ReLU, 1×1) → σ·max_depth or ReLU. */
class OutputStage {
  readonly conv1: Conv2d;
  readonly conv2a: Conv2d;
  readonly conv2b: Conv2d;

  constructor(w: GpuWeights, readonly config: ModelConfig) {
    this.conv1 = conv(w, `${HEAD}.scratch.output_conv1`, { pad: 1 });
    // The ReLU runs on its own rather than fused (reluOut): the same values, and the two-pass conv
    // backward can then free the 518² input before the input gradient exists.
    this.conv2a = conv(w, `${HEAD}.scratch.output_conv2.0`, { pad: 1 });
    this.conv2b = conv(w, `${HEAD}.scratch.output_conv2.2`);
  }

  forward(rt: Runtime, path: Tensor, h: number, w: number): { depth: Tensor; saved: OutputSaved } {
    const c1 = this.conv1.forward(rt, { x: path });
    const upsample = new ResizeBilinear(`${HEAD}.upsample`, h, w);
    const up = upsample.forward(rt, c1.y);
    release(rt, c1.y);
    const pre = this.conv2a.forward(rt, { x: up.y });
    const hidden = rt.tensor(`act/${HEAD}.scratch.output_conv2.1`, pre.y.shape);
    reluForward(rt, pre.y, hidden, `${HEAD}.output_conv2.relu`);
    release(rt, pre.y);
    const logits = this.conv2b.forward(rt, { x: hidden });
    const batch = logits.y.shape[0];
    const depth = rt.tensor("act/depth", [batch, h, w]);
    if (this.config.head === "metric") {
      sigmoidForward(rt, logits.y, depth, this.config.maxDepth!, `${HEAD}.sigmoid`);
    } else {
      reluForward(rt, logits.y, depth, `${HEAD}.relu`);
    }
    return {
      depth,
      saved: {
        sConv1: c1.saved,
        upsample,
        sUp: up.saved,
        sHidden: pre.saved,
        sLogits: logits.saved,
        up: up.y,
        hidden,
        logits: logits.y,
      },
    };
  }

  /** dDepth stays the caller's; consumes the saved tensors and `path`; returns the path's gradient. */
  backward(rt: Runtime, s: OutputSaved, path: Tensor, dDepth: Tensor, sink: GradientSink): Tensor {
    const dLogits = rt.tensor(`grads/act/${HEAD}/logits`, s.logits.shape);
    if (this.config.head === "metric") {
      sigmoidBackward(rt, s.logits, dDepth, dLogits, this.config.maxDepth!, `${HEAD}.sigmoid_backward`);
    } else {
      reluBackward(rt, s.logits, dDepth, dLogits, `${HEAD}.relu_backward`);
    }
    release(rt, s.logits);
    // The ReLU's backward rides in conv2b's input gradient as a mask by its output.
    const dPre = convBackward(rt, this.conv2b, s.sLogits, dLogits, sink, true, [], s.hidden)!;
    release(rt, dLogits, s.hidden);
    const dUp = convBackward(rt, this.conv2a, s.sHidden, dPre, sink, true, [s.up])!;
    release(rt, dPre);
    const dOut1 = s.upsample.backward(rt, s.sUp, dUp);
    release(rt, dUp);
    const dPath = convBackward(rt, this.conv1, s.sConv1, dOut1, sink, true, [path])!;
    release(rt, dOut1);
    return dPath;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The graph

/** What the forward leaves for the backward. */
export interface ForwardState {
  /** [B, h, w], the model's output; the trainer frees it after the loss. */
  depth: Tensor;
  grid: { h: number; w: number };
  cols: Tensor;
  /** x_i: block i's input (x_{L+1}: the last used block's output). */
  xs: Tensor[];
  blocks: (BlockSaved | undefined)[];
  feats: { feat: Tensor; stats: LayerNormSaved }[];
  branches: (BranchSaved | undefined)[];
  rn: Tensor[];
  /** paths[i]: refinenet{i+1}'s output. */
  paths: Tensor[];
  fusions: (FusionSaved | undefined)[];
  output?: OutputSaved;
}

/**
 * Attention's largest scores buffer in training: the backward holds two (probabilities and their gradient),
 * so ViT-L's 16 heads at 1370 tokens in one chunk would be 2 × 115 MiB; 4-head chunks keep that to 58 MiB
 * at the price of more, still large, dispatches.
 */
export const TRAIN_SCORE_BYTES = 32 * 1024 * 1024;

export interface TrainGraphOptions {
  checkpoint: CheckpointPolicy;
  /** Largest attention scores buffer (default TRAIN_SCORE_BYTES; the binding limit caps it anyway). */
  maxScoreBytes?: number;
  /** Whether a parameter trains (the backward stops where nothing below it does). */
  trainable: (key: string) => boolean;
}

export class TrainGraph {
  private readonly embed: EmbeddingStage;
  private readonly blocks: BlockStage[];
  private readonly branches: BranchStage[];
  private readonly fusions: FusionStage[];
  private readonly output: OutputStage;
  /** The last block whose output the head reads: blocks past it get no gradient, as in PyTorch. */
  private readonly lastBlock: number;
  /** Lowest block whose backward runs: below it nothing trains (lastBlock + 1 when no block needs it). */
  private readonly lowestBackward: number;
  private readonly embedTrains: boolean;
  private readonly normTrains: boolean;

  constructor(
    readonly config: ModelConfig,
    readonly weights: GpuWeights,
    readonly options: TrainGraphOptions,
  ) {
    if (config.ffn !== "mlp") {
      throw new TrompeError(
        "unsupported",
        `training supports the MLP encoders (vits, vitb, vitl), not ${config.ffn}`,
      );
    }
    this.embed = new EmbeddingStage(weights);
    this.lastBlock = Math.max(...config.layers);
    this.blocks = Array.from(
      { length: this.lastBlock + 1 },
      (_, i) => new BlockStage(weights, i, config.heads, options.maxScoreBytes ?? TRAIN_SCORE_BYTES),
    );
    this.branches = [0, 1, 2, 3].map((i) => new BranchStage(weights, i));
    this.fusions = [0, 1, 2, 3].map((i) => new FusionStage(weights, i));
    this.output = new OutputStage(weights, config);
    const keys = [...weights.tensors.keys()];
    const trains = (prefix: string) => keys.some((k) => k.startsWith(prefix) && options.trainable(k));
    this.embedTrains = ["pretrained.cls_token", "pretrained.pos_embed", "pretrained.patch_embed."].some(
      trains,
    );
    this.normTrains = trains("pretrained.norm.");
    const lowestBlock = this.blocks.findIndex((b) => trains(`${b.prefix}.`));
    this.lowestBackward = this.embedTrains ? 0 : lowestBlock >= 0 ? lowestBlock : this.lastBlock + 1;
  }

  /** Whether the head passes gradients into the encoder at all. */
  private get encoderBackward(): boolean {
    return this.lowestBackward <= this.lastBlock || this.normTrains;
  }

  forward(rt: Runtime, image: Tensor): ForwardState {
    const recomputeBlocks = recomputes(this.options.checkpoint, "block");
    const recomputeHead = recomputes(this.options.checkpoint, "head");
    const { x0, cols, grid } = this.embed.forward(rt, image);
    const xs = [x0];
    const blocks: (BlockSaved | undefined)[] = [];
    const feats: ForwardState["feats"] = [];
    for (let i = 0; i <= this.lastBlock; i++) {
      const { out, saved } = this.blocks[i].forward(rt, xs[i]);
      // A block below the lowest backward (a frozen encoder's) never needs its activations again.
      if (recomputeBlocks || i < this.lowestBackward) freeOwned(rt, blockOwned(saved));
      else blocks[i] = saved;
      xs.push(out);
      const layer = this.config.layers.indexOf(i);
      if (layer >= 0) feats[layer] = featureForward(rt, this.weights, out, layer);
    }
    const rn: Tensor[] = [];
    const branches: (BranchSaved | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const r = this.branches[i].forward(rt, feats[i].feat, [grid.h, grid.w]);
      rn[i] = r.rn;
      if (recomputeHead) freeOwned(rt, branchOwned(r.saved));
      else branches[i] = r.saved;
    }
    const paths: Tensor[] = [];
    const fusions: (FusionSaved | undefined)[] = [];
    for (let i = 3; i >= 0; i--) {
      const f = this.fusions[i].forward(rt, paths[i + 1], rn[i], fusionSize(rn, i));
      paths[i] = f.out;
      if (recomputeHead) freeOwned(rt, fusionOwned(f.saved));
      else fusions[i] = f.saved;
    }
    const { depth, saved } = this.output.forward(rt, paths[0], grid.h * PATCH_SIZE, grid.w * PATCH_SIZE);
    if (recomputeHead) freeOwned(rt, outputOwned(saved));
    return {
      depth,
      grid,
      cols,
      xs,
      blocks,
      feats,
      branches,
      rn,
      paths,
      fusions,
      output: recomputeHead ? undefined : saved,
    };
  }

  /**
   * Runs the backward from dDepth (the loss gradient, which stays the caller's), handing each parameter's
   * gradient to `sink` when complete, and frees everything the forward left but the depth.
   */
  backward(rt: Runtime, state: ForwardState, dDepth: Tensor, sink: GradientSink): void {
    const s = state;
    const { h, w } = s.grid;
    let output = s.output;
    if (!output) {
      const again = this.output.forward(rt, s.paths[0], h * PATCH_SIZE, w * PATCH_SIZE);
      release(rt, again.depth);
      output = again.saved;
    }
    let dPath: Tensor | undefined = this.output.backward(rt, output, s.paths[0], dDepth, sink);
    // Fusion blocks fine to coarse, each followed by its branch, so each rn gradient dies at once; every
    // stage frees what it saved as its backward goes.
    const needFeat = this.encoderBackward;
    const dFeats: (Tensor | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      let fusion = s.fusions[i];
      if (!fusion) {
        const again = this.fusions[i].forward(rt, s.paths[i + 1], s.rn[i], fusionSize(s.rn, i));
        release(rt, again.out);
        fusion = again.saved;
      }
      const { dSkip, dPrev } = this.fusions[i].backward(rt, fusion, dPath!, sink);
      freeOwned(rt, [s.paths[i + 1], s.rn[i]]);
      dPath = dPrev;
      let branch = s.branches[i];
      if (!branch) {
        const again = this.branches[i].forward(rt, s.feats[i].feat, [h, w]);
        release(rt, again.rn);
        branch = again.saved;
      }
      dFeats[i] = this.branches[i].backward(rt, branch, s.feats[i].feat, dSkip, sink, needFeat);
    }
    this.encoderBackwardPass(rt, s, dFeats, sink);
  }

  private encoderBackwardPass(
    rt: Runtime,
    s: ForwardState,
    dFeats: (Tensor | undefined)[],
    sink: GradientSink,
  ): void {
    const top = this.lastBlock;
    const dStream = this.encoderBackward ? rt.tensor("grads/act/stream", s.xs[top + 1].shape) : undefined;
    const lowestLayer = Math.min(...this.config.layers);
    for (let i = top; i >= 0; i--) {
      const runBlock = i >= this.lowestBackward;
      const layer = this.config.layers.indexOf(i);
      if (layer >= 0) {
        const f = s.feats[layer];
        const dFeat = dFeats[layer];
        if (dStream && dFeat && (runBlock || this.normTrains)) {
          featureBackward(rt, this.weights, s.xs[i + 1], f.stats, dFeat, dStream, sink, layer);
        }
        if (i === lowestLayer) completeAll(sink, ["pretrained.norm.weight", "pretrained.norm.bias"]);
        freeOwned(rt, [dFeat, f.stats.mean, f.stats.rstd]);
      }
      release(rt, s.xs[i + 1]);
      let saved = s.blocks[i];
      if (runBlock) {
        if (!saved) {
          const again = this.blocks[i].forward(rt, s.xs[i]);
          release(rt, again.out);
          saved = again.saved;
        }
        this.blocks[i].backward(rt, s.xs[i], saved, dStream!, sink);
      }
      if (saved) freeOwned(rt, blockOwned(saved));
    }
    if (this.embedTrains) this.embed.backward(rt, s.cols, s.grid, dStream!, sink);
    freeOwned(rt, [s.xs[0], s.cols, dStream]);
  }
}

/** refinenet{i+1}'s output size: the next finer rn map's, or twice rn_1's for refinenet1. */
function fusionSize(rn: readonly Tensor[], i: number): [number, number] {
  const [, , h, w] = rn[i > 0 ? i - 1 : 0].shape;
  return i > 0 ? [h, w] : [2 * h, 2 * w];
}
