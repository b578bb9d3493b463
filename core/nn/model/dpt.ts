/**
 * The DPT head of Depth Anything V2 (depth_anything_v2/dpt.py + util/blocks.py in the official code) on the
 * WGSL ops: four token maps from the encoder → 1×1 projections → ×4 / ×2 / ×1 / ÷2 resampling → 3×3 "rn"
 * convs to the fusion width → four fusion blocks (refinenets) from coarse to fine → output convs → depth.
 *
 * Differences from the official order, each exact in real arithmetic:
 * - a fusion block's 1×1 out_conv runs *before* its bilinear upsampling (a 1×1 conv commutes with a resize
 *   whose weights sum to 1, bias included), on 4× fewer pixels;
 * - ReLUs are fused into the convs that read or write them; a residual unit's skip add into its second conv.
 * The class token is not used (use_clstoken is False in Depth Anything V2), and refinenet4's resConfUnit1 is
 * never called (the coarsest block has no skip input), as in the official forward.
 */
import { add } from "../../gpu/elementwise.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { Conv2d } from "../ops/conv2d.ts";
import { ConvTranspose2d } from "../ops/conv_transpose.ts";
import { reluForward } from "../ops/relu.ts";
import { release } from "../ops/release.ts";
import { ResizeBilinear } from "../ops/resize_bilinear.ts";
import { sigmoidForward } from "../ops/sigmoid.ts";
import { PATCH_SIZE } from "./config.ts";
import type { ModelConfig } from "./config.ts";

/** A weight by its official state_dict key (e.g. `depth_head.projects.0.weight`). */
export type WeightLookup = (name: string) => Tensor;

/**
 * Called with intermediate results under the golden file's names (`dbg/project0`, `dbg/path1`,
 * `head_logits`, ...) before they are freed; awaited, so it may read them back.
 */
export type Tap = (name: string, t: Tensor) => void | Promise<void>;

const HEAD = "depth_head";

function conv(
  w: WeightLookup,
  name: string,
  options: ConstructorParameters<typeof Conv2d>[3] = {},
  bias = true,
) {
  return new Conv2d(name, w(`${name}.weight`), bias ? w(`${name}.bias`) : undefined, options);
}

/** relu → conv1 → relu → conv2, + x (util/blocks.py ResidualConvUnit, without batch norm). */
export class ResidualConvUnit {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;

  constructor(w: WeightLookup, readonly name: string) {
    this.conv1 = conv(w, `${name}.conv1`, { pad: 1, reluIn: true });
    this.conv2 = conv(w, `${name}.conv2`, { pad: 1, reluIn: true });
  }

  /** conv2(relu(conv1(relu(x)))) + skip, where skip is x unless given (a fusion block folds its sum in). */
  forward(rt: Runtime, x: Tensor, skip: Tensor = x): Tensor {
    const { y: h } = this.conv1.forward(rt, { x });
    const { y } = this.conv2.forward(rt, { x: h, residual: skip });
    release(rt, h);
    return y;
  }
}

/**
 * util/blocks.py FeatureFusionBlock with align_corners=True: (prev + rcu1(skip)) → rcu2 → out_conv → resize
 * to `size` (the next finer map's size, or ×2 for refinenet1).
 */
export class FusionBlock {
  readonly rcu1: ResidualConvUnit;
  readonly rcu2: ResidualConvUnit;
  readonly outConv: Conv2d;

  constructor(w: WeightLookup, readonly name: string) {
    this.rcu1 = new ResidualConvUnit(w, `${name}.resConfUnit1`);
    this.rcu2 = new ResidualConvUnit(w, `${name}.resConfUnit2`);
    this.outConv = conv(w, `${name}.out_conv`);
  }

  /** prev: the coarser block's output (none for refinenet4); skip: this level's rn map. Neither is freed. */
  forward(rt: Runtime, prev: Tensor | undefined, skip: Tensor, size: readonly [number, number]): Tensor {
    let x = skip;
    if (prev) {
      // prev + rcu1(skip) = conv2(…) + (skip + prev): the sum rides in as rcu1's residual.
      const sum = rt.tensor(`act/${this.name}/sum`, skip.shape);
      add(rt, skip, prev, sum, { label: `${this.name}.sum` });
      x = this.rcu1.forward(rt, skip, sum);
      release(rt, sum);
    }
    const y = this.rcu2.forward(rt, x);
    if (x !== skip) release(rt, x);
    const { y: z } = this.outConv.forward(rt, { x: y });
    release(rt, y);
    const { y: out } = new ResizeBilinear(`${this.name}.resize`, size[0], size[1]).forward(rt, z);
    release(rt, z);
    return out;
  }
}

export interface DptOutput {
  /** [B, 1, 14·ph, 14·pw]: the last 1×1 conv's output, before Sigmoid (metric) or ReLU (relative). */
  logits: Tensor;
  /** [B, 14·ph, 14·pw]: max_depth·σ(logits) (metric, metres) or relu(logits) (relative, disparity). */
  depth: Tensor;
}

export class DptHead {
  private readonly projects: Conv2d[];
  private readonly resizeUp: ConvTranspose2d[];
  private readonly resizeDown: Conv2d;
  private readonly layerRn: Conv2d[];
  private readonly refinenets: FusionBlock[];
  private readonly outputConv1: Conv2d;
  private readonly outputConv2a: Conv2d;
  private readonly outputConv2b: Conv2d;

  constructor(readonly config: ModelConfig, w: WeightLookup) {
    this.projects = [0, 1, 2, 3].map((i) => conv(w, `${HEAD}.projects.${i}`));
    this.resizeUp = [[0, 4], [1, 2]].map(([i, s]) => {
      const name = `${HEAD}.resize_layers.${i}`;
      return new ConvTranspose2d(name, w(`${name}.weight`), w(`${name}.bias`), s);
    });
    this.resizeDown = conv(w, `${HEAD}.resize_layers.3`, { stride: 2, pad: 1 });
    this.layerRn = [1, 2, 3, 4].map((i) => conv(w, `${HEAD}.scratch.layer${i}_rn`, { pad: 1 }, false));
    this.refinenets = [1, 2, 3, 4].map((i) => new FusionBlock(w, `${HEAD}.scratch.refinenet${i}`));
    this.outputConv1 = conv(w, `${HEAD}.scratch.output_conv1`, { pad: 1 });
    this.outputConv2a = conv(w, `${HEAD}.scratch.output_conv2.0`, { pad: 1, reluOut: true });
    this.outputConv2b = conv(w, `${HEAD}.scratch.output_conv2.2`);
  }

  /**
   * features: the patch tokens [B, ph·pw, C] of the four intermediate layers (after the final norm); they
   * are read, not freed. Every intermediate is freed once its last reader is recorded.
   */
  async forward(
    rt: Runtime,
    features: readonly Tensor[],
    patchH: number,
    patchW: number,
    tap?: Tap,
  ): Promise<DptOutput> {
    if (features.length !== 4) throw new TrompeError("bad-argument", `the DPT head takes 4 feature maps`);
    const show = async (name: string, t: Tensor) => {
      if (tap) await tap(name, t);
    };
    const rn: Tensor[] = [];
    for (let i = 0; i < 4; i++) {
      const f = features[i];
      if (f.shape.length !== 3 || f.shape[1] !== patchH * patchW) {
        throw new TrompeError("shape-mismatch", `feature ${i} [${f.shape}] for ${patchH}×${patchW} patches`);
      }
      const { y: projected } = this.projects[i].forward(rt, { x: f, grid: [patchH, patchW] });
      await show(`dbg/project${i}`, projected);
      let resized = projected;
      if (i < 2) resized = this.resizeUp[i].forward(rt, projected).y;
      if (i === 3) resized = this.resizeDown.forward(rt, { x: projected }).y;
      await show(`dbg/resize${i}`, resized);
      if (resized !== projected) release(rt, projected);
      rn.push(this.layerRn[i].forward(rt, { x: resized }).y);
      release(rt, resized);
      await show(`dbg/layer${i + 1}_rn`, rn[i]);
    }

    // Coarse to fine: refinenet4 sees only layer4_rn; each finer block adds its rn map; refinenet1 doubles.
    let path: Tensor | undefined;
    for (let i = 3; i >= 0; i--) {
      const size: [number, number] = i > 0
        ? [rn[i - 1].shape[2], rn[i - 1].shape[3]]
        : [rn[0].shape[2] * 2, rn[0].shape[3] * 2];
      const next = this.refinenets[i].forward(rt, path, rn[i], size);
      if (path) release(rt, path);
      release(rt, rn[i]);
      path = next;
      await show(`dbg/path${i + 1}`, path);
    }

    const { y: out1 } = this.outputConv1.forward(rt, { x: path! });
    release(rt, path!);
    await show("dbg/output_conv1", out1);
    const h = patchH * PATCH_SIZE;
    const w = patchW * PATCH_SIZE;
    const { y: up } = new ResizeBilinear(`${HEAD}.upsample`, h, w).forward(rt, out1);
    release(rt, out1);
    await show("dbg/upsampled", up);
    const { y: hidden } = this.outputConv2a.forward(rt, { x: up });
    release(rt, up);
    const { y: logits } = this.outputConv2b.forward(rt, { x: hidden });
    release(rt, hidden);
    await show("head_logits", logits);
    const batch = logits.shape[0];
    const depth = rt.tensor("act/depth", [batch, h, w]);
    if (this.config.head === "metric") {
      sigmoidForward(rt, logits, depth, this.config.maxDepth!, "depth_head.sigmoid");
    } else {
      reluForward(rt, logits, depth, "depth_head.relu");
    }
    await show("depth", depth);
    return { logits, depth };
  }
}
