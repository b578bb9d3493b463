/**
 * The runtime every op records into: tensors from the pool, pipelines from the cache, many dispatches into
 * one command encoder, submission, readback, and per-dispatch GPU timing through timestamp queries where the
 * adapter has them (wall clock otherwise, and `timing.source` says which).
 *
 * Recording is cheap and submits are few: the pool hands freed buffers out again (a tensor freed while
 * recorded commands still read it is safe to reuse, as commands run in recording order), so freeing never
 * forces a submit; kernel parameters of all the dispatches of one submit go into one uniform block, written
 * once at the submit; a small upload mid-step is a recorded copy. A submit happens when work must be read
 * back or waited for, before a large upload, or when the parameter block is full.
 */
import { getGpu, type GpuContext, takeDeviceFault } from "./device.ts";
import { BufferPool, formatBytes, type PoolBuffer } from "./pool.ts";
import { type DType, DTYPE_SIZE, numel, Tensor } from "./tensor.ts";
import { type KernelSpec, type OverrideConstants, PipelineCache } from "./kernels.ts";
import { type Param, paramBytes, writeParams } from "./params.ts";
import { TrompeError } from "../errors.ts";

export type Binding = Tensor | PoolBuffer;

/** GPU time per dispatch label, in milliseconds. */
export interface TimingReport {
  source: "timestamp-query" | "wall-clock";
  byLabel: Map<string, { ms: number; count: number }>;
  totalMs: number;
}

// WebGPU caps a query set at 4096 queries: two per timed dispatch.
const MAX_TIMED_DISPATCHES = 2048;
/** Dispatches whose parameters one uniform block holds (a submit happens when it is full). */
const PARAM_SLOTS = 4096;
/** Uploads up to this size made while commands are recorded go in recording order, without a submit. */
const MAX_STAGED_WRITE = 64 * 1024;
/** The largest parameter struct a kernel takes, in bytes. */
const MAX_PARAM_BYTES = 256;

/**
 * The GPU runtime: a device, its buffer pool (every buffer labelled, live and peak bytes counted), its
 * pipeline cache, and the recording and submitting of kernel dispatches. `Runtime.create()` takes the
 * process's device.
 */
export class Runtime {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  /** The parameter block of the commands recorded since the last submit, and where its next slot starts. */
  private params?: { buffer: PoolBuffer; used: number };
  private readonly paramStride: number;
  /** The CPU side of the parameter block (queue.writeBuffer copies it, so one serves every submit). */
  private paramData?: { data: ArrayBuffer; view: DataView };
  private profiling = false;
  private querySet?: GPUQuerySet;
  private queryLabels: string[] = [];
  private timing: TimingReport = { source: "wall-clock", byLabel: new Map(), totalMs: 0 };

  constructor(readonly ctx: GpuContext) {
    this.pool = new BufferPool(ctx.device, { reuse: true });
    this.pipelines = new PipelineCache(ctx.device, ctx.subgroupLanes);
    const align = ctx.device?.limits.minUniformBufferOffsetAlignment ?? 256;
    this.paramStride = Math.ceil(MAX_PARAM_BYTES / align) * align;
  }

  static async create(): Promise<Runtime> {
    return new Runtime(await getGpu());
  }

  get device(): GPUDevice {
    return this.ctx.device;
  }

  // ---- tensors ----

  private placeholder?: Tensor;

  /** A tiny buffer bound where a kernel's optional input is switched off (a binding cannot be left empty). */
  get unused(): Tensor {
    this.placeholder ??= this.tensor("tmp/unused-binding", [4]);
    return this.placeholder;
  }

  /** A new tensor, all zeros (a reused buffer is cleared by a command recorded here). */
  tensor(name: string, shape: readonly number[], dtype: DType = "f32"): Tensor {
    return this.allocate(name, shape, dtype, true);
  }

  private allocate(name: string, shape: readonly number[], dtype: DType, zeroed: boolean): Tensor {
    const buffer = this.pool.alloc(name, numel(shape) * DTYPE_SIZE[dtype]);
    if (zeroed && buffer.reused) {
      this.endPass();
      this.encoder ??= this.device.createCommandEncoder();
      this.encoder.clearBuffer(buffer.gpu!);
    }
    return new Tensor(buffer, shape, dtype, name);
  }

  upload(name: string, shape: readonly number[], data: Float32Array | Uint32Array | Int32Array): Tensor {
    if (data.length !== numel(shape)) {
      throw new TrompeError("shape-mismatch", `upload ${name}: ${data.length} values for shape [${shape}]`);
    }
    const dtype: DType = data instanceof Float32Array ? "f32" : data instanceof Uint32Array ? "u32" : "i32";
    const t = this.allocate(name, shape, dtype, false);
    this.write(t, data);
    return t;
  }

  /**
   * Writes `data` into `t` in recording order: with nothing recorded, a queue write; otherwise (a small
   * upload in the middle of a step) through a staging buffer copied by a recorded command, since a queue
   * write would land before the commands already recorded, and submitting them first costs a submit.
   */
  write(t: Tensor, data: Float32Array | Uint32Array | Int32Array, elementOffset = 0): void {
    const bytes = data.byteLength;
    if (!this.encoder || bytes % 4 !== 0 || bytes > MAX_STAGED_WRITE) {
      this.flush();
      this.device.queue.writeBuffer(
        t.gpu,
        elementOffset * 4,
        data.buffer as ArrayBuffer,
        data.byteOffset,
        bytes,
      );
      return;
    }
    // A source of at most MAX_STAGED_WRITE bytes, filled at creation and gone after the submit: outside
    // the pool, whose buffers are never created mapped.
    const mapped = this.device.createBuffer({
      size: Math.max(4, bytes),
      usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Uint8Array(mapped.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    mapped.unmap();
    this.endPass();
    this.encoder.copyBufferToBuffer(mapped, 0, t.gpu, elementOffset * 4, bytes);
    this.pendingDestroy.push(mapped);
  }

  /** Upload sources of the commands recorded since the last submit, destroyed after it. */
  private pendingDestroy: GPUBuffer[] = [];

  /** Frees tensors; safe while recorded commands still read them (see the file's note). */
  free(...tensors: Tensor[]): void {
    for (const t of tensors) this.pool.free(t.buffer);
    // With nothing recorded, what the pool does not keep can go at once.
    if (!this.encoder && !this.params) this.pool.destroyRetired();
  }

  // ---- recording ----

  private currentPass(label: string): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    if (this.profiling && this.querySet) {
      // One pass per dispatch so each gets its own begin/end timestamps.
      this.endPass();
      if (this.queryLabels.length >= MAX_TIMED_DISPATCHES) this.flush();
      this.encoder ??= this.device.createCommandEncoder();
      const index = this.queryLabels.length * 2;
      this.queryLabels.push(label);
      this.pass = this.encoder.beginComputePass({
        timestampWrites: {
          querySet: this.querySet,
          beginningOfPassWriteIndex: index,
          endOfPassWriteIndex: index + 1,
        },
      });
      return this.pass;
    }
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** Records one dispatch of `spec` specialised by `constants`, with `params` as binding 0's uniform. */
  dispatch(
    spec: KernelSpec,
    constants: OverrideConstants,
    params: readonly Param[] | undefined,
    bindings: readonly Binding[],
    workgroups: readonly [number, number?, number?],
    label = spec.entry,
  ): void {
    const kernel = this.pipelines.get(spec, constants);
    const resources: GPUBindingResource[] = [];
    if (params) resources.push(this.paramSlot(params));
    const largestBinding = this.ctx.limits.maxStorageBufferBindingSize;
    for (const b of bindings) {
      if (!(b instanceof Tensor) && b.texture) {
        resources.push(b.texture.createView());
        continue;
      }
      const buffer = b.gpu!;
      // As for the pool's buffer size: WebGPU would refuse the bind group with raw uncaptured errors.
      if (buffer.size > largestBinding) {
        throw new TrompeError(
          "adapter-limits",
          `${label}: binding "${buffer.label}" is ${formatBytes(buffer.size)}, over the adapter's largest ` +
            `storage binding (${formatBytes(largestBinding)})`,
          { hint: "use a smaller input size" },
        );
      }
      resources.push({ buffer });
    }
    if (resources.length !== spec.bindings.length) {
      throw new TrompeError(
        "gpu",
        `${spec.file}:${spec.entry} takes ${spec.bindings.length} bindings, got ${resources.length}`,
      );
    }
    const [x, y = 1, z = 1] = workgroups;
    const limit = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    if (x > limit || y > limit || z > limit) {
      throw new TrompeError(
        "gpu",
        `${label}: ${x}×${y}×${z} workgroups exceed the adapter's ${limit} per dimension`,
      );
    }
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.device.createBindGroup({
      layout: kernel.layout,
      entries: resources.map((resource, binding) => ({ binding, resource })),
    });
    const pass = this.currentPass(label);
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }

  copy(
    src: Tensor,
    dst: Tensor,
    bytes: number = Math.min(src.bytes, dst.bytes),
    srcOffset = 0,
    dstOffset = 0,
  ): void {
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src.gpu, srcOffset, dst.gpu, dstOffset, bytes);
  }

  /**
   * Copies `rows` rows of `texels` rgba32float texels each from `src` (from float `offset`, rows `ld`
   * floats apart: ld·4 a multiple of 256 bytes, offset of 4 floats) into a texture, from its row `y`.
   */
  copyToTexture(
    src: Tensor,
    offset: number,
    ld: number,
    texture: PoolBuffer,
    texels: number,
    rows: number,
    y = 0,
  ): void {
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToTexture(
      { buffer: src.gpu, offset: offset * 4, bytesPerRow: ld * 4, rowsPerImage: rows },
      { texture: texture.texture!, origin: [0, y] },
      [texels, rows],
    );
  }

  /** Packs a dispatch's parameters into the block of the current submit (submitting first if it is full). */
  private paramSlot(fields: readonly Param[]): GPUBufferBinding {
    const size = paramBytes(fields.length);
    if (size > MAX_PARAM_BYTES) {
      throw new TrompeError("gpu", `${fields.length} kernel parameters exceed ${MAX_PARAM_BYTES} bytes`);
    }
    const bytes = PARAM_SLOTS * this.paramStride;
    if (this.params && this.params.used + this.paramStride > bytes) this.flush();
    if (!this.params) {
      const buffer = this.pool.alloc("tmp/params", bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      this.params = { buffer, used: 0 };
    }
    if (!this.paramData) {
      const data = new ArrayBuffer(bytes);
      this.paramData = { data, view: new DataView(data) };
    }
    const p = this.params;
    const offset = p.used;
    writeParams(this.paramData.view, offset, fields);
    p.used += this.paramStride;
    return { buffer: p.buffer.gpu!, offset, size };
  }

  /** Submits everything recorded so far. */
  flush(): void {
    const params = this.params;
    this.params = undefined;
    if (params) {
      // Written before the submit that reads it; queue order puts it after every earlier submit's reads.
      this.device.queue.writeBuffer(params.buffer.gpu!, 0, this.paramData!.data, 0, params.used);
      this.pool.free(params.buffer);
    }
    if (!this.encoder) {
      this.pool.destroyRetired();
      return;
    }
    this.endPass();
    let resolve: GPUBuffer | undefined;
    let readback: PoolBuffer | undefined;
    const labels = this.queryLabels;
    if (this.profiling && this.querySet && labels.length > 0) {
      const bytes = labels.length * 16;
      resolve = this.device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      readback = this.pool.alloc("tmp/timestamps", bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
      this.encoder.resolveQuerySet(this.querySet, 0, labels.length * 2, resolve, 0);
      this.encoder.copyBufferToBuffer(resolve, 0, readback.gpu!, 0, bytes);
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.queryLabels = [];
    // Destroying a buffer after submit is safe in WebGPU: it is freed once the queue is done with it.
    this.pool.destroyRetired();
    for (const b of this.pendingDestroy) b.destroy();
    this.pendingDestroy = [];
    if (readback) {
      const rb = readback;
      const rs = resolve!;
      this.pendingTimings.push(
        rb.gpu!.mapAsync(GPUMapMode.READ).then(() => {
          const times = new BigUint64Array(rb.gpu!.getMappedRange().slice(0));
          for (let i = 0; i < labels.length; i++) {
            const ms = Number(times[2 * i + 1] - times[2 * i]) / 1e6;
            this.addTiming(labels[i], ms);
          }
          rb.gpu!.unmap();
          this.pool.free(rb);
          rs.destroy();
        }),
      );
    }
  }

  private pendingTimings: Promise<void>[] = [];

  private addTiming(label: string, ms: number): void {
    const entry = this.timing.byLabel.get(label) ?? { ms: 0, count: 0 };
    entry.ms += ms;
    entry.count += 1;
    this.timing.byLabel.set(label, entry);
    this.timing.totalMs += ms;
  }

  /** Waits until the GPU has finished everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await Promise.all(this.pendingTimings);
    this.pendingTimings = [];
    this.throwFault();
  }

  /**
   * A command the device refused (out of memory, a validation error) or a lost device leaves outputs
   * unwritten without stopping anything: every wait and read checks, so a run stops with the device's words
   * instead of computing on (or saving) what it never wrote.
   */
  private throwFault(): void {
    const fault = takeDeviceFault(this.device);
    if (fault) {
      throw new TrompeError("gpu", `the WebGPU device failed: ${fault}`, { subject: this.ctx.adapterName });
    }
  }

  /** Reads a tensor back to the CPU (flushing what was recorded before). */
  async read(t: Tensor): Promise<Float32Array> {
    const bytes = t.bytes;
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    const staging = this.pool.alloc("tmp/readback", bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.encoder.copyBufferToBuffer(t.gpu, 0, staging.gpu!, 0, Math.ceil(bytes / 4) * 4);
    this.flush();
    try {
      await staging.gpu!.mapAsync(GPUMapMode.READ);
      const values = new Float32Array(staging.gpu!.getMappedRange(0, bytes).slice(0));
      staging.gpu!.unmap();
      this.throwFault();
      return values;
    } finally {
      this.pool.free(staging);
    }
  }

  // ---- timing ----

  /**
   * Runs `work` with per-dispatch GPU timing: timestamp queries where the adapter has them, else the wall
   * clock of the whole block (attributed to `label`).
   */
  async timed(label: string, work: () => void | Promise<void>): Promise<TimingReport> {
    await this.sync();
    this.timing = {
      source: this.ctx.hasTimestamps ? "timestamp-query" : "wall-clock",
      byLabel: new Map(),
      totalMs: 0,
    };
    if (this.ctx.hasTimestamps) {
      this.querySet ??= this.device.createQuerySet({ type: "timestamp", count: MAX_TIMED_DISPATCHES * 2 });
      this.profiling = true;
      try {
        await work();
        await this.sync();
      } finally {
        this.profiling = false;
      }
    } else {
      const start = performance.now();
      await work();
      await this.sync();
      this.addTiming(label, performance.now() - start);
    }
    return this.timing;
  }
}
