/**
 * Kernel parameters travel in a small uniform buffer. Fields are u32 unless wrapped with `f32(x)`, in the
 * order of the kernel's `Params` struct (every field 4 bytes, so no padding rules come into play).
 */
export interface F32Param {
  readonly f32: number;
}

export type Param = number | F32Param;

export function f32(value: number): F32Param {
  return { f32: value };
}

/** Bytes of a uniform holding `count` fields: uniform buffers are sized in 16-byte units. */
export function paramBytes(count: number): number {
  return Math.max(16, Math.ceil((count * 4) / 16) * 16);
}

/** Writes the fields at `offset` of `view` (little-endian, 4 bytes each). */
export function writeParams(view: DataView, offset: number, fields: readonly Param[]): void {
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (typeof field === "number") {
      if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) {
        throw new RangeError(`kernel parameter ${i} = ${field} is not a u32 (wrap floats with f32())`);
      }
      view.setUint32(offset + i * 4, field, true);
    } else {
      view.setFloat32(offset + i * 4, field.f32, true);
    }
  }
}
