/**
 * safetensors: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then the raw bytes.
 * Reading is zero-copy whenever a tensor's offset is aligned for its element size (the header is padded to
 * 8 bytes; the format forbids gaps between tensors, so a tensor after an odd-sized one is copied on read).
 * Bytes in, bytes out: files are core/io/safetensors.ts's, so this part also runs in a browser.
 */
import { TrompeError } from "../errors.ts";
import { type DType, DTYPE_BYTES, type TensorData, toFloat32, typedView } from "./dtype.ts";

export { DTYPE_BYTES, type TensorData };
export type SafetensorsDType = DType;

export interface StoredTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** The tensor's raw little-endian bytes (a view into the file when possible). */
  readonly bytes: Uint8Array;
}

/** One tensor for `serializeSafetensors`: name, stored dtype, shape and its data in that dtype. */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A parsed safetensors file: its tensors by name (stored dtype, shape, bytes) and its string metadata. */
export class SafetensorsFile {
  constructor(
    /** Where the tensors came from, for error messages. */
    readonly source: string,
    readonly metadata: Readonly<Record<string, string>>,
    private readonly tensors: ReadonlyMap<string, StoredTensor>,
  ) {}

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  entry(name: string): StoredTensor {
    const t = this.tensors.get(name);
    if (!t) throw new TrompeError("not-found", `no tensor named "${name}"`, { subject: this.source });
    return t;
  }

  /** The tensor in its stored dtype (BF16 as raw Uint16 bits). */
  raw(name: string): TensorData {
    const t = this.entry(name);
    return typedView(t.dtype, t.bytes);
  }

  shape(name: string): readonly number[] {
    return this.entry(name).shape;
  }

  /** Any floating or integer tensor as float32 (F16/BF16 upcast exactly; F64 rounded). */
  float32(name: string): Float32Array {
    const t = this.entry(name);
    return toFloat32(t.dtype, t.bytes);
  }

  /** Any floating or integer tensor as float64 (exact for every stored float type). */
  float64(name: string): Float64Array {
    const t = this.entry(name);
    if (t.dtype === "F64") return typedView("F64", t.bytes) as Float64Array;
    return Float64Array.from(toFloat32(t.dtype, t.bytes));
  }
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Parses safetensors bytes (`source` names them in errors); tensors stay views into `bytes` where aligned. */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const corrupt = (message: string) =>
    new TrompeError("corrupt", message, { subject: source, hint: "not a valid safetensors file" });
  if (bytes.byteLength < 8) {
    throw new TrompeError("truncated", `only ${bytes.byteLength} bytes, a safetensors file starts with 8`, {
      subject: source,
    });
  }
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) {
    throw new TrompeError(
      "truncated",
      `header claims ${headerLength} bytes but the file has ${bytes.byteLength - 8} after its length`,
      { subject: source },
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    throw corrupt(`header is not JSON: ${(error as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw corrupt("header is not an object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, StoredTensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") throw corrupt(`metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const entry = value as HeaderEntry;
    if (!(entry?.dtype in DTYPE_BYTES)) throw corrupt(`tensor "${name}" has unknown dtype ${entry?.dtype}`);
    const dtype = entry.dtype as SafetensorsDType;
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw corrupt(`tensor "${name}" has an invalid shape`);
    }
    const [begin, end] = entry.data_offsets ?? [];
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin) {
      throw corrupt(`tensor "${name}" has invalid data_offsets`);
    }
    if (end > dataLength) {
      throw new TrompeError("truncated", `tensor "${name}" ends at byte ${end} of ${dataLength} data bytes`, {
        subject: source,
      });
    }
    if (end - begin !== elementCount(shape) * DTYPE_BYTES[dtype]) {
      throw corrupt(`tensor "${name}" has ${end - begin} bytes for shape [${shape}] of ${dtype}`);
    }
    tensors.set(name, { name, dtype, shape, bytes: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  return new SafetensorsFile(source, metadata, tensors);
}

/** Serialises tensors contiguously in the given order, with optional string metadata. */
export function serializeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const placed: { data: Uint8Array; offset: number }[] = [];
  for (const t of tensors) {
    const expected = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new TrompeError(
        "shape-mismatch",
        `tensor "${t.name}" has ${t.data.byteLength} bytes, shape needs ${expected}`,
      );
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    placed.push({ data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset });
    offset += expected; // the format forbids gaps between tensors
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.fill(0x20, 8, 8 + headerLength); // the format pads the header with spaces
  out.set(json, 8);
  for (const { data, offset } of placed) out.set(data, 8 + headerLength + offset);
  return out;
}
