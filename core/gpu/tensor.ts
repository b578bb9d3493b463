/** A GPU tensor: a pooled buffer plus shape, dtype and a name (the official state_dict key for weights). */
import type { PoolBuffer } from "./pool.ts";
import { TrompeError } from "../errors.ts";

export type DType = "f32" | "f16" | "u32" | "i32";

export const DTYPE_SIZE: Record<DType, number> = { f32: 4, f16: 2, u32: 4, i32: 4 };

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A shaped view of a pooled GPU buffer (row-major, float32 unless stated); read it back with `Runtime.read`.
 */
export class Tensor {
  constructor(
    readonly buffer: PoolBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType = "f32",
    readonly name: string = buffer.label,
  ) {
    const needed = numel(shape) * DTYPE_SIZE[dtype];
    if (needed > buffer.bytes) {
      throw new TrompeError(
        "shape-mismatch",
        `tensor ${name} [${shape}] needs ${needed} bytes, buffer has ${buffer.bytes}`,
      );
    }
  }

  get size(): number {
    return numel(this.shape);
  }

  get bytes(): number {
    return this.size * DTYPE_SIZE[this.dtype];
  }

  get gpu(): GPUBuffer {
    if (!this.buffer.gpu) {
      throw new TrompeError("gpu", `tensor ${this.name} has no GPU buffer (accounting-only pool)`);
    }
    return this.buffer.gpu;
  }

  /** The same buffer seen with another shape of equal size (no copy). */
  view(shape: readonly number[], name = this.name): Tensor {
    if (numel(shape) !== this.size) {
      throw new TrompeError("shape-mismatch", `cannot view ${this.name} [${this.shape}] as [${shape}]`);
    }
    return new Tensor(this.buffer, shape, this.dtype, name);
  }
}
