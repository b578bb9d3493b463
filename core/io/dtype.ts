/**
 * Element types of stored tensors, as safetensors names them (PyTorch's storages map onto the same set): their
 * sizes, typed-array views of raw little-endian bytes, and conversion to float32.
 */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const DTYPE_BYTES: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export type TensorData =
  | Float64Array
  | Float32Array
  | Float16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

/** A view of `bytes` as the dtype's typed array (BF16 as raw Uint16 bits); copies only when misaligned. */
export function typedView(dtype: DType, bytes: Uint8Array): TensorData {
  const size = DTYPE_BYTES[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const n = Math.floor(aligned.byteLength / size);
  switch (dtype) {
    case "F64":
      return new Float64Array(buffer, byteOffset, n);
    case "F32":
      return new Float32Array(buffer, byteOffset, n);
    case "F16":
      return new Float16Array(buffer, byteOffset, n);
    case "BF16":
      return new Uint16Array(buffer, byteOffset, n);
    case "I64":
      return new BigInt64Array(buffer, byteOffset, n);
    case "I32":
      return new Int32Array(buffer, byteOffset, n);
    case "I16":
      return new Int16Array(buffer, byteOffset, n);
    case "I8":
      return new Int8Array(buffer, byteOffset, n);
    case "U8":
    case "BOOL":
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/** The elements of `bytes` as float32: F16 and BF16 exactly, F64 and 64-bit integers rounded. */
export function toFloat32(dtype: DType, bytes: Uint8Array): Float32Array {
  const view = typedView(dtype, bytes);
  switch (dtype) {
    case "F32":
      return view as Float32Array;
    case "BF16": {
      // bfloat16 is the top half of a float32's bits.
      const bits = view as Uint16Array;
      const out = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
      return new Float32Array(out.buffer);
    }
    case "I64": {
      const ints = view as BigInt64Array;
      const out = new Float32Array(ints.length);
      for (let i = 0; i < ints.length; i++) out[i] = Number(ints[i]);
      return out;
    }
    default:
      return Float32Array.from(view as ArrayLike<number>);
  }
}
