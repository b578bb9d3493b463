/**
 * The one buffer pool every GPU allocation goes through. It counts live and peak bytes per label, so "peak
 * memory" is a measured number with a breakdown. Labels are paths (`weights/pretrained.blocks.0...`,
 * `act/block3/qkv`, `tmp/params`); their first segment is the category the breakdown groups by.
 *
 * In accounting-only mode no GPU buffer is created: a training step can be planned on any machine and its
 * peak computed exactly as if it ran.
 *
 * With `reuse` on (the Runtime's pools), a freed buffer or texture is kept, up to `reuseBytes`, and handed
 * out again to the next allocation of the same size and usage instead of a new one: a training step makes
 * the same allocations every step, so after the first step it creates no GPU object at all. Reuse inside
 * one command encoder is safe because commands run in the order they are recorded (a later writer of a
 * reused buffer runs after every earlier reader), as a stream allocator's reuse is; the Runtime clears a
 * reused buffer when it must read as zeros. Reused bytes are not live: live and peak count what the program
 * holds, the kept bytes are reported apart (`keptBytes`). A buffer that is not kept is destroyed only after
 * the next submit (`destroyRetired`), as commands recorded before it may still read it.
 */
import { TrompeError } from "../errors.ts";

export interface PoolBuffer {
  readonly label: string;
  readonly bytes: number;
  /** Absent in accounting-only mode, and for textures. */
  readonly gpu?: GPUBuffer;
  /** Set for an `allocTexture` allocation (absent in accounting-only mode). */
  readonly texture?: GPUTexture;
  /** A kept GPU object handed out again: its contents are whatever its last user left. */
  readonly reused?: boolean;
}

export interface PoolOptions {
  /** Keep freed GPU objects for reuse (see the file's note); default off: free destroys at once. */
  reuse?: boolean;
  /** At most this many bytes kept for reuse (default 256 MiB); beyond it a freed object is destroyed. */
  reuseBytes?: number;
}

const DEFAULT_REUSE_BYTES = 256 * 1024 * 1024;

/** Bytes per texel of the one texture format trompe uses (operand copies for the CPU matmul). */
export const RGBA32F_TEXEL_BYTES = 16;

export interface PoolStats {
  liveBytes: number;
  peakBytes: number;
  /** Live bytes per category at the moment the peak was reached. */
  peakBreakdown: Record<string, number>;
  /** Live bytes per category now. */
  liveByCategory: Record<string, number>;
  /** Largest live total each category reached on its own. */
  peakByCategory: Record<string, number>;
  allocations: number;
  /** Bytes of freed buffers kept for reuse (not live). */
  keptBytes: number;
  /** Allocations served by a kept buffer instead of a new one. */
  reusedAllocations: number;
}

export const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export function categoryOf(label: string): string {
  const slash = label.indexOf("/");
  return slash < 0 ? label : label.slice(0, slash);
}

export class BufferPool {
  private live = new Set<PoolBuffer>();
  private liveBytes = 0;
  private peakBytes = 0;
  private liveByCategory = new Map<string, number>();
  private peakByCategory = new Map<string, number>();
  private peakBreakdown: Record<string, number> = {};
  private allocations = 0;
  private reusedAllocations = 0;
  private readonly reuse: boolean;
  private readonly reuseBytes: number;
  /** Freed GPU objects by size and usage, most recently freed last. */
  private kept = new Map<string, (GPUBuffer | GPUTexture)[]>();
  private keptBytes = 0;
  /** Freed objects not kept: destroyed after the next submit. */
  private retired: (GPUBuffer | GPUTexture)[] = [];

  /** `device` undefined = accounting-only: sizes are counted, nothing is allocated. */
  constructor(readonly device?: GPUDevice, options: PoolOptions = {}) {
    this.reuse = (options.reuse ?? false) && device !== undefined;
    this.reuseBytes = options.reuseBytes ?? DEFAULT_REUSE_BYTES;
  }

  get accountingOnly(): boolean {
    return this.device === undefined;
  }

  alloc(label: string, bytes: number, usage: number = STORAGE_USAGE): PoolBuffer {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new TrompeError("bad-argument", `buffer "${label}" asked for ${bytes} bytes`);
    }
    // WebGPU needs sizes in multiples of 4 and refuses empty bindings.
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    // WebGPU's own refusal comes later, as raw uncaptured errors from every command that uses the invalid
    // buffer, and names no cause: say it here, once, before anything is recorded.
    const largest = this.device?.limits.maxBufferSize;
    if (largest !== undefined && size > largest) {
      throw new TrompeError(
        "adapter-limits",
        `buffer "${label}" needs ${formatBytes(size)}, over the adapter's largest buffer (${
          formatBytes(largest)
        })`,
        { hint: "use a smaller input size" },
      );
    }
    const again = this.take(`b${size}:${usage}`, size) as GPUBuffer | undefined;
    if (again) return this.count({ label, bytes: size, gpu: again, reused: true });
    const gpu = this.device?.createBuffer({ label, size, usage });
    return this.count({ label, bytes: size, gpu });
  }

  private take(key: string, bytes: number): GPUBuffer | GPUTexture | undefined {
    const list = this.reuse ? this.kept.get(key) : undefined;
    const found = list?.pop();
    if (found) {
      this.keptBytes -= bytes;
      this.reusedAllocations += 1;
    }
    return found;
  }

  /** An rgba32float 2D texture of `width`×`height` texels, counted like a buffer of the same size. */
  allocTexture(label: string, width: number, height: number, usage: number): PoolBuffer {
    for (const [name, v] of [["width", width], ["height", height]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new TrompeError("bad-argument", `texture "${label}" asked for ${name} ${v}`);
      }
    }
    const bytes = width * height * RGBA32F_TEXEL_BYTES;
    const again = this.take(`t${width}x${height}:${usage}`, bytes) as GPUTexture | undefined;
    if (again) return this.count({ label, bytes, texture: again, reused: true });
    const texture = this.device?.createTexture({
      label,
      size: [width, height],
      format: "rgba32float",
      usage,
    });
    return this.count({ label, bytes, texture });
  }

  private count(buffer: PoolBuffer): PoolBuffer {
    const { label, bytes: size } = buffer;
    this.live.add(buffer);
    this.allocations += 1;
    this.liveBytes += size;
    const category = categoryOf(label);
    const categoryBytes = (this.liveByCategory.get(category) ?? 0) + size;
    this.liveByCategory.set(category, categoryBytes);
    if (categoryBytes > (this.peakByCategory.get(category) ?? 0)) {
      this.peakByCategory.set(category, categoryBytes);
    }
    if (this.liveBytes > this.peakBytes) {
      this.peakBytes = this.liveBytes;
      this.peakBreakdown = Object.fromEntries(this.liveByCategory);
    }
    return buffer;
  }

  free(buffer: PoolBuffer): void {
    if (!this.live.delete(buffer)) {
      throw new TrompeError("gpu", `buffer "${buffer.label}" freed twice or not from this pool`);
    }
    const object = buffer.gpu ?? buffer.texture;
    if (object && this.reuse) {
      if (this.keptBytes + buffer.bytes <= this.reuseBytes) {
        const key = buffer.gpu
          ? `b${buffer.bytes}:${buffer.gpu.usage}`
          : `t${buffer.texture!.width}x${buffer.texture!.height}:${buffer.texture!.usage}`;
        let list = this.kept.get(key);
        if (!list) this.kept.set(key, list = []);
        list.push(object);
        this.keptBytes += buffer.bytes;
      } else this.retired.push(object);
    } else object?.destroy();
    this.liveBytes -= buffer.bytes;
    const category = categoryOf(buffer.label);
    this.liveByCategory.set(category, (this.liveByCategory.get(category) ?? 0) - buffer.bytes);
  }

  /** Destroys the freed objects that were not kept (call after a submit: earlier commands may read them). */
  destroyRetired(): void {
    for (const object of this.retired) object.destroy();
    this.retired = [];
  }

  /** Destroys every kept object (after a submit), e.g. before a phase that needs the memory. */
  dropKept(): void {
    for (const list of this.kept.values()) this.retired.push(...list);
    this.kept.clear();
    this.keptBytes = 0;
  }

  isLive(buffer: PoolBuffer): boolean {
    return this.live.has(buffer);
  }

  /** Starts a new peak measurement from what is live now (e.g. before one training step). */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
    this.peakBreakdown = Object.fromEntries(this.liveByCategory);
    this.peakByCategory = new Map(this.liveByCategory);
  }

  stats(): PoolStats {
    const nonZero = (m: Map<string, number> | Record<string, number>) =>
      Object.fromEntries(
        Object.entries(m instanceof Map ? Object.fromEntries(m) : m).filter(([, v]) => v > 0),
      );
    return {
      liveBytes: this.liveBytes,
      peakBytes: this.peakBytes,
      peakBreakdown: nonZero(this.peakBreakdown),
      liveByCategory: nonZero(this.liveByCategory),
      peakByCategory: nonZero(this.peakByCategory),
      allocations: this.allocations,
      keptBytes: this.keptBytes,
      reusedAllocations: this.reusedAllocations,
    };
  }

  /** Labels of live buffers, for leak reports. */
  liveLabels(): string[] {
    return [...this.live].map((b) => b.label);
  }

  /** Every live buffer and texture with its size, largest first: where the live bytes are. */
  liveBuffers(): { label: string; bytes: number }[] {
    return [...this.live].map(({ label, bytes }) => ({ label, bytes })).sort((x, y) => y.bytes - x.bytes);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** "peak 1.20 GiB (weights 0.9 GiB, act 0.3 GiB)" */
export function describePeak(stats: PoolStats): string {
  const parts = Object.entries(stats.peakBreakdown)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${formatBytes(v)}`);
  return `peak ${formatBytes(stats.peakBytes)} (${parts.join(", ")})`;
}
