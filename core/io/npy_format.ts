/**
 * NumPy `.npy` (format 1.0/2.0 read, 1.0 written): the magic `\x93NUMPY`, a version, a little-endian header
 * length, a Python-literal header dict padded with spaces to a 64-byte boundary and ended by a newline, then
 * the raw C-order array. Written headers are byte-identical to numpy's (including the spare room numpy ≥ 1.23
 * leaves after the dict so the first axis can grow in place). Only numeric little-endian C-order arrays.
 * Bytes in, bytes out: files are core/io/npy.ts's, so this part also runs in a browser.
 */
import { TrompeError } from "../errors.ts";

/** NumPy dtype strings (little-endian) trompe reads and writes. */
export type NpyDType =
  | "<f2"
  | "<f4"
  | "<f8"
  | "|u1"
  | "|i1"
  | "|b1"
  | "<u2"
  | "<i2"
  | "<u4"
  | "<i4"
  | "<u8"
  | "<i8";

/** The typed arrays an NPY file is read into or written from. */
export type NpyData =
  | Float16Array
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array;

/** A parsed NPY array: dtype, C-order shape and data. */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
  fortranOrder: false;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

function viewAs(dtype: NpyDType, buffer: ArrayBuffer): NpyData {
  switch (dtype) {
    case "<f2":
      return new Float16Array(buffer);
    case "<f4":
      return new Float32Array(buffer);
    case "<f8":
      return new Float64Array(buffer);
    case "|u1":
    case "|b1":
      return new Uint8Array(buffer);
    case "|i1":
      return new Int8Array(buffer);
    case "<u2":
      return new Uint16Array(buffer);
    case "<i2":
      return new Int16Array(buffer);
    case "<u4":
      return new Uint32Array(buffer);
    case "<i4":
      return new Int32Array(buffer);
    case "<u8":
      return new BigUint64Array(buffer);
    case "<i8":
      return new BigInt64Array(buffer);
  }
}

/** The dtype numpy records for a typed array (Uint8Array is uint8, not bool). */
export function npyDType(data: NpyData): NpyDType {
  if (data instanceof Float16Array) return "<f2";
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Float64Array) return "<f8";
  if (data instanceof Uint8Array) return "|u1";
  if (data instanceof Int8Array) return "|i1";
  if (data instanceof Uint16Array) return "<u2";
  if (data instanceof Int16Array) return "<i2";
  if (data instanceof Uint32Array) return "<u4";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof BigUint64Array) return "<u8";
  return "<i8";
}

const KNOWN: ReadonlySet<string> = new Set<NpyDType>([
  "<f2",
  "<f4",
  "<f8",
  "|u1",
  "|i1",
  "|b1",
  "<u2",
  "<i2",
  "<u4",
  "<i4",
  "<u8",
  "<i8",
]);

function corrupt(source: string, message: string): TrompeError {
  return new TrompeError("corrupt", message, {
    subject: source,
    hint: "not a .npy file numpy wrote, or damaged",
  });
}

/** Parses NPY bytes (format versions 1 to 3, C order; `source` names them in errors). */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw corrupt(source, "no NPY magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) {
    throw new TrompeError("unsupported", `NPY format version ${major}.${bytes[7]}`, { subject: source });
  }
  const lengthBytes = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (bytes.length < dataStart) {
    throw new TrompeError("truncated", "NPY ends inside its header", { subject: source });
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(8 + lengthBytes, dataStart),
  );

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    // structured dtypes put a list in 'descr', which the first pattern does not match
    throw new TrompeError("unsupported", `NPY header trompe cannot read: ${header.trim()}`, {
      subject: source,
      hint: "trompe reads plain numeric arrays (no structured or object dtypes)",
    });
  }
  if (fortran === "True") {
    throw new TrompeError("unsupported", "NPY array is in Fortran order", {
      subject: source,
      hint: "save it C-ordered: np.save(path, np.ascontiguousarray(a))",
    });
  }
  // numpy writes '<u1' and '|u1' alike for bytes; a single-byte type has no order
  const dtype = descr.replace(/^[<=]([ubi]1)$/, "|$1");
  if (!KNOWN.has(dtype)) {
    throw new TrompeError("unsupported", `NPY dtype '${descr}'`, {
      subject: source,
      hint:
        "trompe reads little-endian bool, integer and float arrays (no object, string or big-endian dtypes)",
    });
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw corrupt(source, `bad NPY shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = Number(dtype.slice(2));
  const byteLength = count * itemSize;
  if (bytes.length < dataStart + byteLength) {
    throw new TrompeError(
      "truncated",
      `NPY holds ${bytes.length - dataStart} data bytes, expected ${byteLength}`,
      {
        subject: source,
      },
    );
  }
  const data = viewAs(dtype as NpyDType, bytes.slice(dataStart, dataStart + byteLength).buffer);
  return { dtype: dtype as NpyDType, shape, data, fortranOrder: false };
}

/** Python's repr of a shape tuple: `()`, `(5,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/** The version 1.0 header exactly as numpy's `np.save` writes it. */
export function npyHeader(dtype: NpyDType, shape: readonly number[]): Uint8Array {
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const withNewline = dict.length + 1;
  const pad = ALIGN - ((MAGIC.length + 2 + 2 + withNewline) % ALIGN);
  const text = dict + " ".repeat(pad) + "\n";
  if (text.length > 0xffff) throw new TrompeError("unsupported", "NPY header too long for format 1.0");
  const out = new Uint8Array(10 + text.length);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** An NPY file's bytes for `data` in C order with `shape` (dtype from the array type). */
export function serializeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new TrompeError("shape-mismatch", `NPY: ${data.length} values for shape ${shapeRepr(shape)}`);
  }
  const header = npyHeader(npyDType(data), shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}
