/**
 * The DPT head of Depth Anything V2 (depth_anything_v2/dpt.py + util/blocks.py in the official code) on the
 * WGSL ops: four token maps from the encoder → 1×1 projections → ×4 / ×2 / ×1 / ÷2 resampling → 3×3 "rn"
 * convs to the fusion width → four fusion blocks (refinenets) from coarse to fine → output convs → depth.
 * The stages are dpt_stages.ts, the training graph's own, here in their freeing mode.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { release } from "../ops/release.ts";
import { PATCH_SIZE } from "./config.ts";
import type { ModelConfig } from "./config.ts";
import { BranchStage, FusionStage, OutputStage, type WeightLookup } from "./dpt_stages.ts";

export type { WeightLookup } from "./dpt_stages.ts";

/**
 * Called with intermediate results under the golden file's names (`dbg/project0`, `dbg/path1`,
 * `head_logits`, ...) before they are freed; awaited, so it may read them back.
 */
export type Tap = (name: string, t: Tensor) => void | Promise<void>;

export interface DptOutput {
  /** [B, 1, 14·ph, 14·pw]: the last 1×1 conv's output, before Sigmoid (metric) or ReLU (relative). */
  logits: Tensor;
  /** [B, 14·ph, 14·pw]: max_depth·σ(logits) (metric, metres) or relu(logits) (relative, disparity). */
  depth: Tensor;
}

/** refinenet{i+1}'s output size: the next finer rn map's, or twice rn_1's for refinenet1. */
export function fusionSize(rn: readonly Tensor[], i: number): [number, number] {
  const [, , h, w] = rn[i > 0 ? i - 1 : 0].shape;
  return i > 0 ? [h, w] : [2 * h, 2 * w];
}

export class DptHead {
  private readonly branches: BranchStage[];
  private readonly fusions: FusionStage[];
  private readonly output: OutputStage;

  constructor(readonly config: ModelConfig, w: WeightLookup) {
    this.branches = [0, 1, 2, 3].map((i) => new BranchStage(w, i));
    this.fusions = [0, 1, 2, 3].map((i) => new FusionStage(w, i));
    this.output = new OutputStage(w, config);
  }

  /**
   * features: the patch tokens [B, ph·pw, C] of the four intermediate layers (after the final norm); they
   * are read, not freed. Every intermediate is freed once its last reader is recorded (a tap's once tapped).
   */
  async forward(
    rt: Runtime,
    features: readonly Tensor[],
    patchH: number,
    patchW: number,
    tap?: Tap,
  ): Promise<DptOutput> {
    if (features.length !== 4) throw new TrompeError("bad-argument", `the DPT head takes 4 feature maps`);
    // A tap sees the intermediates a stage would free: the stage holds them, they are tapped, then freed.
    const held: [string, Tensor][] = [];
    const inspect = tap ? (name: string, t: Tensor) => (held.push([name, t]), true) : undefined;
    const show = async (...outputs: [string, Tensor][]) => {
      if (!tap) return;
      for (const [name, t] of [...held, ...outputs]) await tap(name, t);
      release(rt, ...new Set(held.map(([, t]) => t)));
      held.length = 0;
    };

    const rn: Tensor[] = [];
    for (let i = 0; i < 4; i++) {
      const f = features[i];
      if (f.shape.length !== 3 || f.shape[1] !== patchH * patchW) {
        throw new TrompeError("shape-mismatch", `feature ${i} [${f.shape}] for ${patchH}×${patchW} patches`);
      }
      rn.push(this.branches[i].forward(rt, f, [patchH, patchW], false, inspect).rn);
      await show([`dbg/layer${i + 1}_rn`, rn[i]]);
    }

    // Coarse to fine: refinenet4 sees only layer4_rn; each finer block adds its rn map; refinenet1 doubles.
    let path: Tensor | undefined;
    for (let i = 3; i >= 0; i--) {
      const next = this.fusions[i].forward(rt, path, rn[i], fusionSize(rn, i), false).out;
      if (path) release(rt, path);
      path = next;
      await show([`dbg/path${i + 1}`, path]);
    }
    for (const r of rn) release(rt, r);

    const { depth, logits } = this.output.forward(
      rt,
      path!,
      patchH * PATCH_SIZE,
      patchW * PATCH_SIZE,
      false,
      inspect,
    );
    await show(["head_logits", logits], ["depth", depth]);
    return { logits, depth };
  }
}
