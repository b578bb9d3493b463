/**
 * Plans a training step's memory without a GPU: the real training graph (model_backward.ts), AdamW and the
 * loss run against a Runtime whose pool is in accounting-only mode — every buffer the step would allocate
 * is counted with its label, nothing is dispatched — so the planned peak and its breakdown are what the
 * same code measures on the adapter planned for (the 1 MiB kernel-parameter block and readback staging
 * aside). The ops choose their kernels from the Runtime's adapter (`isCpu`, limits), and the accounting
 * Runtime carries the planned adapter's, so the plan takes the path that will run: on a CPU adapter the
 * fused attention's statistics and the operand copies into textures, on a GPU the materialised scores.
 */
import type { GpuContext } from "../gpu/device.ts";
import { type LimitName, REQUIRED_LIMITS } from "../gpu/device.ts";
import type { KernelSpec, OverrideConstants } from "../gpu/kernels.ts";
import type { Param } from "../gpu/params.ts";
import type { PoolStats } from "../gpu/pool.ts";
import { type Binding, Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { expectedShapes } from "../nn/model/checkpoint.ts";
import type { ModelConfig } from "../nn/model/config.ts";
import { GpuWeights } from "../nn/model/weights.ts";
import { release } from "../nn/ops/release.ts";
import { AdamW } from "./adamw.ts";
import type { CheckpointPolicy } from "./checkpointing.ts";
import { type FreezePolicy, isTrainable } from "./freeze.ts";
import type { GradientSink } from "../nn/model/gradient_sink.ts";
import { TrainGraph } from "./model_backward.ts";
import { silogBackward, silogForward } from "./silog.ts";

/** What the ops read of the adapter a plan is for: which kernels run (`isCpu`) and the limits that size them. */
export interface PlannedAdapter {
  readonly isCpu: boolean;
  /** Limits not given are trompe's required ones (core/gpu/device.ts). */
  readonly limits: Readonly<Partial<Record<LimitName, number>>>;
}

/** A GPU with NVIDIA's 2 GiB − 4 storage binding limit: what a plan is for when no adapter is named. */
export const NVIDIA_GPU: PlannedAdapter = {
  isCpu: false,
  limits: { maxStorageBufferBindingSize: 2 ** 31 - 4 },
};

/** A Runtime that records allocations only: dispatches, copies and uploads are no-ops. */
export class AccountingRuntime extends Runtime {
  constructor(adapter: PlannedAdapter = NVIDIA_GPU) {
    // Only the adapter's kind and limits are read by the ops (attention picks its kernels by the kind and
    // sizes its head chunks by the binding limit); with no device the pool counts bytes and creates nothing.
    super({
      device: undefined,
      adapterName: "accounting-only",
      backend: "none",
      features: new Set(),
      limits: { ...REQUIRED_LIMITS, ...adapter.limits },
      hasTimestamps: false,
      hasF16: false,
      isCpu: adapter.isCpu,
    } as unknown as GpuContext);
  }

  /** The live buffers (label, bytes) at the moment of the peak, largest first: where the peak comes from. */
  peakLive: { label: string; bytes: number }[] = [];
  private peakSeen = 0;

  /** Notes the live buffers when the pool is at a new peak: after every allocation a kernel can see. */
  private notePeak(): void {
    const { liveBytes } = this.pool.stats();
    if (liveBytes > this.peakSeen) {
      this.peakSeen = liveBytes;
      this.peakLive = this.pool.liveBuffers();
    }
  }

  override tensor(name: string, shape: readonly number[], dtype?: Tensor["dtype"]): Tensor {
    const t = super.tensor(name, shape, dtype);
    this.notePeak();
    return t;
  }

  resetPeak(): void {
    this.pool.resetPeak();
    this.peakSeen = this.pool.stats().liveBytes;
    this.peakLive = [];
  }

  override dispatch(
    _spec: KernelSpec,
    _constants: OverrideConstants,
    _params: readonly Param[] | undefined,
    _bindings: readonly Binding[],
    _workgroups: readonly [number, number?, number?],
  ): void {
    // The CPU kernels' operand textures come from the pool directly, not through `tensor`.
    this.notePeak();
  }

  override write(): void {}

  override copy(): void {}

  override copyToTexture(): void {}

  override flush(): void {}

  override sync(): Promise<void> {
    return Promise.resolve();
  }

  override read(t: Tensor): Promise<Float32Array> {
    return Promise.resolve(new Float32Array(t.size));
  }
}

export interface StepPlanOptions {
  config: ModelConfig;
  batch: number;
  height: number;
  width: number;
  checkpoint: CheckpointPolicy;
  freeze: FreezePolicy;
  /**
   * true: each parameter's AdamW step runs as soon as its gradient is complete and the gradient is freed;
   * false: all gradients are kept until the backward ends, then the optimizer steps (PyTorch's default).
   */
  updateInBackward: boolean;
  /** The adapter the step will run on (e.g. a Runtime's `ctx`); default `NVIDIA_GPU`. */
  adapter?: PlannedAdapter;
}

export interface StepPlan {
  /** The pool's peak during one steady-state step (weights and AdamW moments already exist). */
  stats: PoolStats;
  /** The largest buffers live at the peak. */
  peakLive: { label: string; bytes: number }[];
  parameters: number;
  trainable: number;
}

export function planTrainingStep(o: StepPlanOptions): StepPlan {
  const rt = new AccountingRuntime(o.adapter);
  const shapes = expectedShapes(o.config);
  const tensors = new Map<string, Tensor>();
  for (const [key, shape] of shapes) tensors.set(key, rt.tensor(`weights/${key}`, shape));
  const weights = new GpuWeights(tensors);
  const trainable = (key: string) => isTrainable(key, o.freeze);
  const graph = new TrainGraph(o.config, weights, { checkpoint: o.checkpoint, trainable });
  const adam = new AdamW(rt);
  // Steady state: every parameter that receives gradients has its moments from earlier steps.
  const receives = new Set<string>();
  const grads = new Map<string, Tensor>();
  const sink: GradientSink = {
    grad(key) {
      if (!trainable(key)) return undefined;
      let g = grads.get(key);
      if (!g) grads.set(key, g = rt.tensor(`grads/${key}`, weights.get(key).shape));
      return g;
    },
    complete(key) {
      const g = grads.get(key);
      if (!g) return;
      receives.add(key);
      if (!o.updateInBackward) return;
      adam.update(key, weights.get(key), g, 0);
      grads.delete(key);
      release(rt, g);
    },
  };
  // A first pass finds which parameters receive gradients (refinenet4.resConfUnit1 never does) and gives
  // them their moments; the second pass is the step that is measured.
  for (const measured of [false, true]) {
    if (measured) {
      for (const key of receives) adam.slot(key, weights.get(key));
      rt.resetPeak();
    }
    // The order of TrainStepper.step (core/train/train_step.ts).
    const image = rt.tensor("act/image", [o.batch, 3, o.height, o.width]);
    const state = graph.forward(rt, image);
    const target = rt.tensor("act/target", [o.batch, o.height, o.width]);
    const valid = rt.tensor("act/valid", [o.batch, o.height, o.width], "u32");
    const inputs = { pred: state.depth, target, valid };
    const loss = silogForward(rt, inputs);
    const dDepth = silogBackward(rt, inputs, loss);
    release(rt, image, state.depth, target, valid, loss.scratch);
    graph.backward(rt, state, dDepth, sink);
    for (const [key, g] of grads) {
      if (measured) adam.update(key, weights.get(key), g, 0);
      release(rt, g);
    }
    grads.clear();
  }
  let parameters = 0, trainableCount = 0;
  for (const [key, t] of tensors) {
    parameters += t.size;
    if (trainable(key)) trainableCount += t.size;
  }
  return { stats: rt.pool.stats(), peakLive: rt.peakLive, parameters, trainable: trainableCount };
}
