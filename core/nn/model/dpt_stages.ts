/**
 * The DPT head's stages (depth_anything_v2/dpt.py + util/blocks.py), once for inference and training: a branch
 * (projection, resize, layer_rn), a fusion block (refinenet), and the output convs with Sigmoid×max_depth or
 * ReLU. Each forward either keeps what its backward reads (`keep`, the training graph:
 * core/train/model_backward.ts) or frees every intermediate as soon as its last reader is recorded (inference:
 * dpt.ts); both compute the same sums in the same order, so their outputs are bit-identical (inference fuses
 * the upsampling before output_conv2, its ReLU and its 1×1 conv into its 3×3 conv:
 * conv2dReluPointwiseForward). Each backward hands parameter gradients to the sink.
 *
 * Differences from the official order, each exact in real arithmetic:
 * - a fusion block's 1×1 out_conv runs *before* its bilinear upsampling (a 1×1 conv commutes with a resize
 *   whose weights sum to 1, bias included), on 4× fewer pixels;
 * - ReLUs are fused into the convs that read them; a residual unit's skip add into its second conv.
 * The class token is not used (use_clstoken is False in Depth Anything V2), and refinenet4's resConfUnit1 is
 * never called (the coarsest block has no skip input), as in the official forward.
 */
import { add, axpy } from "../../gpu/elementwise.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import {
  conv2dBackward,
  conv2dForward,
  type Conv2dGradTargets,
  type Conv2dInput,
  type Conv2dOptions,
  conv2dReluPointwiseForward,
  type Conv2dSaved,
  type ConvWeights,
} from "../ops/conv2d.ts";
import {
  convTranspose2dBackward,
  convTranspose2dForward,
  type ConvTransposeOptions,
  type ConvTransposeSaved,
} from "../ops/conv_transpose.ts";
import { release } from "../ops/release.ts";
import { reluBackward, reluForward } from "../ops/relu.ts";
import { resizeBilinearBackward, resizeBilinearForward, type ResizeSaved } from "../ops/resize_bilinear.ts";
import { sigmoidBackward, sigmoidForward } from "../ops/sigmoid.ts";
import type { ModelConfig } from "./config.ts";
import { type GradientSink, HEAD } from "./gradient_sink.ts";

/** A weight by its official state_dict key (e.g. `depth_head.projects.0.weight`). */
export type WeightLookup = (name: string) => Tensor;

/**
 * Offered each intermediate a freeing forward would free, under the golden file's names (`dbg/project0`,
 * `dbg/upsampled`, ...): true keeps it alive for the caller (who then frees it), false lets it go.
 */
export type Inspect = (name: string, t: Tensor) => boolean;

/** A conv of the head: its state_dict prefix (also its pool and dispatch label), weights and options. */
interface HeadConv<O = Conv2dOptions> {
  readonly name: string;
  readonly w: ConvWeights;
  readonly options: O;
}

function conv(w: WeightLookup, name: string, options: Conv2dOptions = {}, bias = true): HeadConv {
  return { name, w: { weight: w(`${name}.weight`), bias: bias ? w(`${name}.bias`) : undefined }, options };
}

function convForward(rt: Runtime, c: HeadConv, input: Conv2dInput): { y: Tensor; saved: Conv2dSaved } {
  return conv2dForward(rt, input, c.w, c.name, c.options);
}

/** Frees what a freeing forward is done with, unless the inspector kept it. */
function done(rt: Runtime, inspect: Inspect | undefined, name: string, t: Tensor): void {
  if (!inspect?.(name, t)) release(rt, t);
}

/** A conv op's backward: `conv2dBackward` or `convTranspose2dBackward`. */
type ConvBackwardOp<S> = (
  rt: Runtime,
  saved: S,
  w: ConvWeights,
  dy: Tensor,
  targets: Conv2dGradTargets,
  name: string,
) => Tensor | undefined;

/**
 * A conv's backward in two passes: the weight and bias gradients, then — once `freeBetween` (tensors only
 * the weight gradient reads, typically the conv's input) is freed — the input gradient, so an input and the
 * gradient that replaces it are never live together. Completion comes last: the input gradient reads the
 * weight.
 */
function twoPassBackward<S>(
  rt: Runtime,
  op: ConvBackwardOp<S>,
  c: HeadConv<unknown>,
  saved: S,
  dy: Tensor,
  sink: GradientSink,
  needInput: boolean,
  freeBetween: readonly Tensor[] = [],
  /** Zero the input gradient where this is ≤ 0: a ReLU that produced the conv's input. */
  maskInputBy?: Tensor,
): Tensor | undefined {
  const weight = sink.grad(`${c.name}.weight`);
  const bias = c.w.bias ? sink.grad(`${c.name}.bias`) : undefined;
  if (weight || bias) op(rt, saved, c.w, dy, { weight, bias, input: false }, c.name);
  if (freeBetween.length > 0) release(rt, ...new Set(freeBetween));
  const dx = needInput ? op(rt, saved, c.w, dy, { input: true, maskInputBy }, c.name) : undefined;
  sink.complete(`${c.name}.weight`);
  if (c.w.bias) sink.complete(`${c.name}.bias`);
  return dx;
}

/** `twoPassBackward` of a head Conv2d. */
function convBackward(
  rt: Runtime,
  c: HeadConv,
  saved: Conv2dSaved,
  dy: Tensor,
  sink: GradientSink,
  needInput: boolean,
  freeBetween: readonly Tensor[] = [],
  maskInputBy?: Tensor,
): Tensor | undefined {
  return twoPassBackward(rt, conv2dBackward, c, saved, dy, sink, needInput, freeBetween, maskInputBy);
}

export interface BranchSaved {
  sProject: Conv2dSaved;
  sResize?: Conv2dSaved | ConvTransposeSaved;
  sRn: Conv2dSaved;
  projected: Tensor;
  /** The same tensor as `projected` for branch 2 (no resampling). */
  resized: Tensor;
}

export function branchOwned(s: BranchSaved): Tensor[] {
  return [s.projected, s.resized];
}

/** Branch i: projects[i] (1×1 on tokens) → resize_layers[i] → layer{i+1}_rn. */
export class BranchStage {
  readonly project: HeadConv;
  readonly up?: HeadConv<ConvTransposeOptions>;
  readonly down?: HeadConv;
  readonly rn: HeadConv;

  constructor(w: WeightLookup, readonly index: number) {
    this.project = conv(w, `${HEAD}.projects.${index}`);
    if (index < 2) {
      const name = `${HEAD}.resize_layers.${index}`;
      const weights = { weight: w(`${name}.weight`), bias: w(`${name}.bias`) };
      this.up = { name, w: weights, options: { stride: index === 0 ? 4 : 2 } };
    }
    if (index === 3) this.down = conv(w, `${HEAD}.resize_layers.3`, { stride: 2, pad: 1 });
    this.rn = conv(w, `${HEAD}.scratch.layer${index + 1}_rn`, { pad: 1 }, false);
  }

  /** The branch's rn map; with `keep` also what its backward reads. The feature is read, not freed. */
  forward(
    rt: Runtime,
    feat: Tensor,
    grid: readonly [number, number],
    keep: boolean,
    inspect?: Inspect,
  ): { rn: Tensor; saved?: BranchSaved } {
    const { y: projected, saved: sProject } = convForward(rt, this.project, { x: feat, grid });
    let resized = projected;
    let sResize: BranchSaved["sResize"];
    if (this.up) {
      const { w, name, options } = this.up;
      ({ y: resized, saved: sResize } = convTranspose2dForward(rt, projected, w, name, options));
    }
    if (this.down) ({ y: resized, saved: sResize } = convForward(rt, this.down, { x: projected }));
    if (keep) {
      const { y: rn, saved: sRn } = convForward(rt, this.rn, { x: resized });
      return { rn, saved: { sProject, sResize, sRn, projected, resized } };
    }
    // Branch 2 has no resampling: its projection is its "resized" map, offered under both names.
    const resampled = resized !== projected;
    const heldProjected = inspect?.(`dbg/project${this.index}`, projected) ?? false;
    if (resampled && !heldProjected) release(rt, projected);
    const { y: rn } = convForward(rt, this.rn, { x: resized });
    const heldResized = inspect?.(`dbg/resize${this.index}`, resized) ?? false;
    if (!heldResized && (resampled || !heldProjected)) release(rt, resized);
    return { rn };
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
      const saved = s.sResize as ConvTransposeSaved;
      dProjected = twoPassBackward(rt, convTranspose2dBackward, this.up, saved, dResized, sink, true, [
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

export interface FusionSaved {
  sIn1?: Conv2dSaved;
  sIn2?: Conv2dSaved;
  sMid1: Conv2dSaved;
  sMid2: Conv2dSaved;
  sOut: Conv2dSaved;
  sResize: ResizeSaved;
  /** rcu1's hidden map and output (only with a coarser input). */
  h1?: Tensor;
  x?: Tensor;
  /** rcu2's hidden map and output. */
  h2: Tensor;
  y: Tensor;
}

export function fusionOwned(s: FusionSaved): Tensor[] {
  return [s.h1, s.x, s.h2, s.y].filter((t): t is Tensor => t !== undefined);
}

/**
 * refinenet{i+1}: (prev + rcu1(skip)) → rcu2 → out_conv → bilinear resize to `size` (the next finer map's
 * size, or ×2 for refinenet1), with out_conv before the resize and the sum riding in as rcu1's residual.
 * Each residual unit is relu → conv1 → relu → conv2, + skip (util/blocks.py ResidualConvUnit, no batch norm).
 */
export class FusionStage {
  readonly name: string;
  readonly rcu1: { conv1: HeadConv; conv2: HeadConv };
  readonly rcu2: { conv1: HeadConv; conv2: HeadConv };
  readonly outConv: HeadConv;

  constructor(w: WeightLookup, readonly index: number) {
    this.name = `${HEAD}.scratch.refinenet${index + 1}`;
    const unit = (name: string) => ({
      conv1: conv(w, `${this.name}.${name}.conv1`, { pad: 1, reluIn: true }),
      conv2: conv(w, `${this.name}.${name}.conv2`, { pad: 1, reluIn: true }),
    });
    this.rcu1 = unit("resConfUnit1");
    this.rcu2 = unit("resConfUnit2");
    this.outConv = conv(w, `${this.name}.out_conv`);
  }

  /** prev: the coarser block's output (none for refinenet4); skip: this level's rn map. Neither is freed. */
  forward(
    rt: Runtime,
    prev: Tensor | undefined,
    skip: Tensor,
    size: readonly [number, number],
    keep: boolean,
  ): { out: Tensor; saved?: FusionSaved } {
    let x = skip;
    let rcu1: { sIn1: Conv2dSaved; sIn2: Conv2dSaved; h1: Tensor; x: Tensor } | undefined;
    if (prev) {
      // prev + rcu1(skip) = conv2(…) + (skip + prev): the sum rides in as rcu1's residual.
      const sum = rt.tensor(`act/${this.name}/sum`, skip.shape);
      add(rt, skip, prev, sum, { label: `${this.name}.sum` });
      const c1 = convForward(rt, this.rcu1.conv1, { x: skip });
      const c2 = convForward(rt, this.rcu1.conv2, { x: c1.y, residual: sum });
      release(rt, sum);
      if (!keep) release(rt, c1.y);
      x = c2.y;
      rcu1 = { sIn1: c1.saved, sIn2: c2.saved, h1: c1.y, x };
    }
    const m1 = convForward(rt, this.rcu2.conv1, { x });
    const m2 = convForward(rt, this.rcu2.conv2, { x: m1.y, residual: x });
    if (!keep) {
      release(rt, m1.y);
      if (x !== skip) release(rt, x);
    }
    const o = convForward(rt, this.outConv, { x: m2.y });
    if (!keep) release(rt, m2.y);
    const r = resizeBilinearForward(rt, o.y, size, `${this.name}.resize`);
    // The resize's backward needs only shapes: out_conv's output goes now.
    release(rt, o.y);
    if (!keep) return { out: r.y };
    return {
      out: r.y,
      saved: {
        ...rcu1,
        sMid1: m1.saved,
        sMid2: m2.saved,
        sOut: o.saved,
        sResize: r.saved,
        h2: m1.y,
        y: m2.y,
      },
    };
  }

  /** Consumes dOut and the saved tensors; returns the gradients of skip and (when there is one) prev. */
  backward(rt: Runtime, s: FusionSaved, dOut: Tensor, sink: GradientSink): { dSkip: Tensor; dPrev?: Tensor } {
    const dz = resizeBilinearBackward(rt, s.sResize, dOut, `${this.name}.resize`);
    release(rt, dOut);
    const dy = convBackward(rt, this.outConv, s.sOut, dz, sink, true, [s.y])!;
    release(rt, dz);
    // rcu2: y = conv2(relu(h2)) + x with h2 = conv1(relu(x)), so dx = dy + the conv path's gradient.
    const dh2 = convBackward(rt, this.rcu2.conv2, s.sMid2, dy, sink, true)!;
    release(rt, s.h2);
    const dxConv = convBackward(rt, this.rcu2.conv1, s.sMid1, dh2, sink, true)!;
    axpy(rt, dxConv, dy, 1, `${this.name}.rcu2.skip_grad`);
    release(rt, dh2, dxConv);
    if (!s.sIn1) return { dSkip: dy };
    release(rt, s.x!);
    // rcu1: x = conv2(relu(h1)) + skip + prev: prev's gradient is dx, skip's adds the conv path's.
    const dh1 = convBackward(rt, this.rcu1.conv2, s.sIn2!, dy, sink, true)!;
    release(rt, s.h1!);
    const dSkip = convBackward(rt, this.rcu1.conv1, s.sIn1, dh1, sink, true)!;
    axpy(rt, dy, dSkip, 1, `${this.name}.rcu1.skip_grad`);
    release(rt, dh1);
    return { dSkip, dPrev: dy };
  }
}

/**
 * What the output stage's backward reads. Neither output_conv1's output nor its upsampling (output_conv2.0's
 * input: 32 channels at full resolution for ViT-S) is kept: both are computed again from the stage's input
 * right before output_conv2.0's backward (output_conv1 at 296² and one bilinear pass: ~0.3 of the ViT-S
 * step's ~30 CPU-seconds on lavapipe). The 518² input is then live neither at output_conv2.2's backward,
 * where the ViT-S step's peak was, nor at output_conv2.0's forward beside output_conv1's output.
 */
export interface OutputSaved {
  sConv1: Conv2dSaved;
  sUp: ResizeSaved;
  /** output_conv2.0's; its input `x` was freed in the forward (see above). */
  sHidden: Conv2dSaved;
  sLogits: Conv2dSaved;
  hidden: Tensor;
  logits: Tensor;
}

export function outputOwned(s: OutputSaved): Tensor[] {
  return [s.hidden, s.logits];
}

/** output_conv1 → bilinear to 14·patches → output_conv2 (3×3, ReLU, 1×1) → σ·max_depth or ReLU. */
export class OutputStage {
  readonly conv1: HeadConv;
  readonly conv2a: HeadConv;
  readonly conv2b: HeadConv;

  constructor(w: WeightLookup, readonly config: ModelConfig) {
    this.conv1 = conv(w, `${HEAD}.scratch.output_conv1`, { pad: 1 });
    // Training runs the ReLU on its own rather than fused (reluOut): the same values, and the two-pass conv
    // backward can then free the 518² input before the input gradient exists. Inference fuses the ReLU and
    // output_conv2.2 into this conv (conv2dReluPointwiseForward).
    this.conv2a = conv(w, `${HEAD}.scratch.output_conv2.0`, { pad: 1 });
    this.conv2b = conv(w, `${HEAD}.scratch.output_conv2.2`);
  }

  /**
   * depth [B, h, w] and the logits before the activation. `path` is kept for the backward with `keep`, and
   * consumed (freed once output_conv1 has read it) without.
   */
  forward(
    rt: Runtime,
    path: Tensor,
    h: number,
    w: number,
    keep: boolean,
    inspect?: Inspect,
  ): { depth: Tensor; logits: Tensor; saved?: OutputSaved } {
    const c1 = convForward(rt, this.conv1, { x: path });
    if (!keep) release(rt, path);
    if (!keep && !inspect) {
      const upsample = { size: [h, w] as const, name: `${HEAD}.upsample` };
      const logits = conv2dReluPointwiseForward(rt, c1.y, this.conv2a, this.conv2b, upsample);
      release(rt, c1.y);
      return { depth: this.activation(rt, logits), logits };
    }
    const up = resizeBilinearForward(rt, c1.y, [h, w], `${HEAD}.upsample`);
    if (keep || !inspect?.("dbg/output_conv1", c1.y)) release(rt, c1.y);
    if (!keep) {
      const logits = conv2dReluPointwiseForward(rt, up.y, this.conv2a, this.conv2b);
      done(rt, inspect, "dbg/upsampled", up.y);
      return { depth: this.activation(rt, logits), logits };
    }
    const pre = convForward(rt, this.conv2a, { x: up.y });
    release(rt, up.y);
    const hidden = rt.tensor(`act/${HEAD}.scratch.output_conv2.1`, pre.y.shape);
    reluForward(rt, pre.y, hidden, `${HEAD}.output_conv2.relu`);
    release(rt, pre.y);
    const sHidden = pre.saved;
    const logits = convForward(rt, this.conv2b, { x: hidden });
    const depth = this.activation(rt, logits.y);
    return {
      depth,
      logits: logits.y,
      saved: {
        sConv1: c1.saved,
        sUp: up.saved,
        sHidden,
        sLogits: logits.saved,
        hidden,
        logits: logits.y,
      },
    };
  }

  /** depth [B, h, w] from the logits: σ·max_depth (metric) or ReLU (relative). */
  private activation(rt: Runtime, logits: Tensor): Tensor {
    const [batch, , h, w] = logits.shape;
    const depth = rt.tensor("act/depth", [batch, h, w]);
    if (this.config.head === "metric") {
      sigmoidForward(rt, logits, depth, this.config.maxDepth!, `${HEAD}.sigmoid`);
    } else {
      reluForward(rt, logits, depth, `${HEAD}.relu`);
    }
    return depth;
  }

  /** Consumes dDepth, the saved tensors and `path`; returns the path's gradient. */
  backward(rt: Runtime, s: OutputSaved, path: Tensor, dDepth: Tensor, sink: GradientSink): Tensor {
    const [h, w] = s.sUp.size;
    const dLogits = rt.tensor(`grads/act/${HEAD}/logits`, s.logits.shape);
    if (this.config.head === "metric") {
      sigmoidBackward(rt, s.logits, dDepth, dLogits, this.config.maxDepth!, `${HEAD}.sigmoid_backward`);
    } else {
      reluBackward(rt, s.logits, dDepth, dLogits, `${HEAD}.relu_backward`);
    }
    release(rt, s.logits, dDepth);
    // The ReLU's backward rides in conv2b's input gradient as a mask by its output.
    const dPre = convBackward(rt, this.conv2b, s.sLogits, dLogits, sink, true, [], s.hidden)!;
    release(rt, dLogits, s.hidden);
    // The same bits as the forward's: the same kernels on the same input.
    const c1 = convForward(rt, this.conv1, { x: path }).y;
    const up = resizeBilinearForward(rt, c1, [h, w], `${HEAD}.upsample`).y;
    release(rt, c1);
    const dUp = convBackward(rt, this.conv2a, { ...s.sHidden, x: up }, dPre, sink, true, [up])!;
    release(rt, dPre);
    const dOut1 = resizeBilinearBackward(rt, s.sUp, dUp, `${HEAD}.upsample`);
    release(rt, dUp);
    const dPath = convBackward(rt, this.conv1, s.sConv1, dOut1, sink, true, [path])!;
    release(rt, dOut1);
    return dPath;
  }
}
