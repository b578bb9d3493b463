/**
 * The one buffer pool every GPU allocation goes through. It counts live and peak bytes per label, so "peak
 * memory" is a measured number with a breakdown. Labels are paths (`weights/pretrained.blocks.0...`,
 * `act/block3/qkv`, `tmp/params`); their first segment is the category the breakdown groups by.
 *
 * In accounting-only mode no GPU buffer is created: a training step can be planned on any machine and its
 * peak computed exactly as if it ran.
 */
import { TrompeError } from "../errors.ts";

export interface PoolBuffer {
  readonly label: string;
  readonly bytes: number;
  /** Absent in accounting-only mode, and for textures. */
  readonly gpu?: GPUBuffer;
  /** Set for an `allocTexture` allocation (absent in accounting-only mode). */
  readonly texture?: GPUTexture;
}

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

  /** `device` undefined = accounting-only: sizes are counted, nothing is allocated. */
  constructor(readonly device?: GPUDevice) {}

  get accountingOnly(): boolean {
    return this.device === undefined;
  }

  alloc(label: string, bytes: number, usage: number = STORAGE_USAGE): PoolBuffer {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new TrompeError("bad-argument", `buffer "${label}" asked for ${bytes} bytes`);
    }
    // WebGPU needs sizes in multiples of 4 and refuses empty bindings.
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const gpu = this.device?.createBuffer({ label, size, usage });
    return this.count({ label, bytes: size, gpu });
  }

  /** An rgba32float 2D texture of `width`×`height` texels, counted like a buffer of the same size. */
  allocTexture(label: string, width: number, height: number, usage: number): PoolBuffer {
    for (const [name, v] of [["width", width], ["height", height]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new TrompeError("bad-argument", `texture "${label}" asked for ${name} ${v}`);
      }
    }
    const texture = this.device?.createTexture({
      label,
      size: [width, height],
      format: "rgba32float",
      usage,
    });
    return this.count({ label, bytes: width * height * RGBA32F_TEXEL_BYTES, texture });
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
    buffer.gpu?.destroy();
    buffer.texture?.destroy();
    this.liveBytes -= buffer.bytes;
    const category = categoryOf(buffer.label);
    this.liveByCategory.set(category, (this.liveByCategory.get(category) ?? 0) - buffer.bytes);
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
    };
  }

  /** Labels of live buffers, for leak reports. */
  liveLabels(): string[] {
    return [...this.live].map((b) => b.label);
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
