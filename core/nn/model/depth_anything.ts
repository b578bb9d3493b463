/**
 * Depth Anything V2 on WGSL: the checkpoint's weights on the GPU (pool label `weights/<official key>`), the
 * DINOv2 encoder, the DPT head. `forward` maps a network input to depth; as a DepthEngine it plugs into the
 * shared inference path (core/nn/predict.ts: image2tensor → forward → align_corners resize to the image).
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import type { RasterU8 } from "../../io/raster.ts";
import { type DepthEngine, type DepthResult, inferDepth } from "../predict.ts";
import type { StateDict } from "../../io/pth.ts";
import { PATCH_SIZE } from "./config.ts";
import type { ModelConfig } from "./config.ts";
import { release } from "../ops/release.ts";
import { DptHead, type DptOutput, type Tap } from "./dpt.ts";
import { vitForward } from "./vit.ts";
import { freeWeights, type GpuWeights, uploadWeights } from "./weights.ts";

/** The encoder's output as the head takes it: feature maps [B, h·w, C] of the four layers, the patch grid. */
export interface Encoded {
  features: Tensor[];
  h: number;
  w: number;
}

/**
 * Depth Anything V2 on trompe's WGSL kernels. Under Deno, `loadDepthAnythingV2` reads a checkpoint file into
 * one; anywhere, `DepthAnythingV2.fromStateDict` takes weights already in memory.
 */
export class DepthAnythingV2 implements DepthEngine {
  readonly kind = "webgpu";
  private readonly head: DptHead;

  constructor(
    readonly rt: Runtime,
    readonly config: ModelConfig,
    readonly weights: GpuWeights,
    /** What loading assumed or took from where (for the user to see). */
    readonly notes: string[] = [],
  ) {
    this.head = new DptHead(config, (name) => weights.get(name));
  }

  static fromStateDict(
    rt: Runtime,
    config: ModelConfig,
    stateDict: StateDict,
    notes: string[] = [],
  ): DepthAnythingV2 {
    return new DepthAnythingV2(rt, config, uploadWeights(rt, stateDict), notes);
  }

  /**
   * image [B, 3, h, w] (h, w multiples of 14) → logits [B, 1, h, w] and depth [B, h, w]. The caller frees
   * the two outputs; every intermediate is freed as soon as its last reader is recorded.
   */
  async forwardTensor(image: Tensor, tap?: Tap): Promise<DptOutput> {
    const [, , h, w] = image.shape;
    if (image.shape.length !== 4 || h % PATCH_SIZE || w % PATCH_SIZE) {
      throw new TrompeError(
        "shape-mismatch",
        `the network input must be [B, 3, 14·m, 14·n], got [${image.shape}]`,
      );
    }
    const encoded = this.encode(image);
    for (let i = 0; i < 4; i++) if (tap) await tap(`feat${i}`, encoded.features[i]);
    return this.decode(encoded, tap);
  }

  /** The encoder's part of `forwardTensor`: the four feature maps the head reads, and the patch grid. */
  encode(image: Tensor): Encoded {
    const encoded = vitForward(this.rt, this.config, this.weights, image);
    // use_clstoken is False in Depth Anything V2: the class tokens go unread.
    release(this.rt, ...encoded.layers.map((l) => l.cls), ...encoded.kept.values());
    return { features: encoded.layers.map((l) => l.patches), h: encoded.h, w: encoded.w };
  }

  /** The head's part of `forwardTensor`, on `encode`'s features (freed once read). */
  async decode(encoded: Encoded, tap?: Tap): Promise<DptOutput> {
    const out = await this.head.forward(this.rt, encoded.features, encoded.h, encoded.w, tap);
    release(this.rt, ...encoded.features);
    return out;
  }

  /** DepthEngine: a 1×3×h×w input → h×w depth on the CPU. */
  async forward(input: Float32Array, height: number, width: number): Promise<Float32Array> {
    const image = this.rt.upload("act/input", [1, 3, height, width], input);
    const { logits, depth } = await this.forwardTensor(image);
    release(this.rt, image, logits);
    const data = await this.rt.read(depth);
    this.rt.free(depth);
    return data;
  }

  /** The official `infer_image`: depth at the image's size. */
  infer(rgb: RasterU8, inputSize = 518): Promise<DepthResult> {
    return inferDepth(this, rgb, inputSize);
  }

  dispose(): void {
    freeWeights(this.rt, this.weights);
  }
}
