/**
 * HDF5 through h5wasm (libhdf5 compiled to wasm). h5wasm works on its own in-memory file system, so a read
 * copies the file's bytes in and a write copies the finished file out and writes it atomically.
 *
 * Reading goes through the module's `get_dataset_data` into a malloc'd buffer: h5wasm's high-level `.value`
 * refuses float16 ("Float16 not supported"), but the raw bytes it reads are little-endian in the dataset's own
 * type, so we view them as the matching typed array (Hypersim depth becomes a Float16Array).
 *
 * Writing float16 is the one thing h5wasm cannot do (its `create_dataset` only builds 32/64-bit float types),
 * so `writeDepthHdf5` makes an empty, extendible float32 dataset, patches its datatype message to IEEE half
 * (same message length) and its chunk element size to 2, then lets libhdf5 itself extend the dataset and
 * write (and gzip) the float16 bytes. The file uses the earliest format, as Hypersim's files do.
 *
 * libhdf5 stamps each dataset with its modification time, and h5wasm cannot turn that off (no
 * `H5Pset_obj_track_times`), so the writer zeroes the stamp: the same depth then gives the same bytes on any
 * day, which augmented sets promise (identical output whatever the workers, shards or resumes).
 */
import * as h5wasm from "npm:h5wasm@0.10.3";
import { thrownText, TrompeError } from "../errors.ts";
import { readFileNamed, writeFileAtomic } from "./atomic.ts";
import { floatToHalfBits } from "./float16.ts";
import { checkPixels } from "./pixel_limit.ts";

export type Hdf5DType = "f16" | "f32" | "f64" | "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64";

export type Hdf5Data =
  | Float16Array
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** One HDF5 dataset read whole: shape, element type and data (float16 as a Float16Array). */
export interface Hdf5Dataset {
  shape: number[];
  dtype: Hdf5DType;
  data: Hdf5Data;
}

const H5T_INTEGER = 0;
const H5T_FLOAT = 1;

const FLOAT_DTYPES: Record<number, Hdf5DType> = { 2: "f16", 4: "f32", 8: "f64" };
const SIGNED_DTYPES: Record<number, Hdf5DType> = { 1: "i8", 2: "i16", 4: "i32", 8: "i64" };
const UNSIGNED_DTYPES: Record<number, Hdf5DType> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };

/** A view of `length` values of `dtype` at `offset` (aligned: malloc's pointers are) in `buffer`. */
function typedArray(dtype: Hdf5DType, buffer: ArrayBufferLike, offset: number, length: number): Hdf5Data {
  switch (dtype) {
    case "f16":
      return new Float16Array(buffer, offset, length);
    case "f32":
      return new Float32Array(buffer, offset, length);
    case "f64":
      return new Float64Array(buffer, offset, length);
    case "i8":
      return new Int8Array(buffer, offset, length);
    case "u8":
      return new Uint8Array(buffer, offset, length);
    case "i16":
      return new Int16Array(buffer, offset, length);
    case "u16":
      return new Uint16Array(buffer, offset, length);
    case "i32":
      return new Int32Array(buffer, offset, length);
    case "u32":
      return new Uint32Array(buffer, offset, length);
    case "i64":
      return new BigInt64Array(buffer, offset, length);
    case "u64":
      return new BigUint64Array(buffer, offset, length);
  }
}

let counter = 0;

/** A name in h5wasm's in-memory file system no other call in this isolate is using. */
function scratchName(): string {
  counter += 1;
  return `/trompe-${Deno.pid}-${counter}-${crypto.randomUUID()}.h5`;
}

let throwing = false;

async function h5Module() {
  const module = await h5wasm.ready;
  if (!throwing) {
    // libhdf5 errors become exceptions instead of a diagnostic stack printed to stderr
    module.activate_throwing_error_handler();
    throwing = true;
  }
  return { module, fs: h5wasm.FS! };
}

/** The innermost reason in a libhdf5 error stack ("truncated file: eof = …"), else the message as is. */
function hdf5Reason(error: unknown): string {
  const text = thrownText(error);
  const reasons = [...text.matchAll(/#\d+: .* in [\w.]+\(\): (.*)$/gm)].map((m) => m[1].trim());
  return reasons.at(-1) ?? text.split("\n")[0];
}

/**
 * Opens `bytes` (or a new file) in h5wasm's file system, runs `fn`, and always closes and removes it. `fn` may
 * call `finish()` to close the file early and get its bytes (what a writer returns).
 */
async function withFile<T>(
  bytes: Uint8Array | null,
  mode: "r" | "w" | "a",
  source: string,
  fn: (file: h5wasm.File, finish: () => Uint8Array) => T,
): Promise<T> {
  const { fs } = await h5Module();
  const name = scratchName();
  if (bytes) fs.writeFile(name, bytes);
  let file: h5wasm.File | undefined;
  try {
    try {
      file = mode === "w"
        ? new h5wasm.File(name, "w", { libver: ["earliest", "latest"] })
        : new h5wasm.File(name, mode);
    } catch (error) {
      throw new TrompeError("corrupt", `not a readable HDF5 file: ${hdf5Reason(error)}`, {
        subject: source,
        hint: "the file may be truncated or not HDF5",
        cause: error,
      });
    }
    const opened = file;
    return fn(opened, () => {
      file = undefined;
      opened.close();
      return fs.readFile(name);
    });
  } finally {
    file?.close();
    try {
      fs.unlink(name);
    } catch {
      // never created (the open failed before writing anything)
    }
  }
}

/** Parses an HDF5 file held in memory and returns one dataset's shape, dtype and values. */
export function parseHdf5Dataset(bytes: Uint8Array, source: string, name = "dataset"): Promise<Hdf5Dataset> {
  // slice: a copy that outlives h5wasm's buffer
  return withHdf5Dataset(bytes, source, name, (dataset) => ({ ...dataset, data: dataset.data.slice() }));
}

/**
 * Parses an HDF5 file held in memory and hands one dataset to `use` with its values viewed in h5wasm's memory,
 * valid only during the call (`use` must not call h5wasm). A caller that converts the values at once (Hypersim
 * distance → planar depth) skips the copy out: 1.5 MB of fresh memory per 1024×768 float16 map, whose page
 * faults cost more than the copy itself.
 */
export async function withHdf5Dataset<T>(
  bytes: Uint8Array,
  source: string,
  name: string,
  use: (dataset: Hdf5Dataset) => T,
): Promise<T> {
  const { module } = await h5Module();
  return withFile(bytes, "r", source, (file) => {
    let entity;
    try {
      entity = file.get(name);
    } catch (error) {
      throw new TrompeError("corrupt", `cannot read dataset '${name}': ${hdf5Reason(error)}`, {
        subject: source,
        cause: error,
      });
    }
    if (!(entity instanceof h5wasm.Dataset)) {
      throw new TrompeError("corrupt", `no dataset named '${name}'`, { subject: source });
    }
    const meta = entity.metadata;
    const table = meta.type === H5T_FLOAT
      ? FLOAT_DTYPES
      : meta.type === H5T_INTEGER
      ? (meta.signed ? SIGNED_DTYPES : UNSIGNED_DTYPES)
      : {};
    const dtype = table[meta.size];
    if (!dtype || meta.vlen) {
      throw new TrompeError(
        "unsupported",
        `dataset '${name}' has a type trompe does not read (class ${meta.type})`,
        {
          subject: source,
          hint: "trompe reads numeric HDF5 datasets only",
        },
      );
    }
    const shape = (meta.shape ?? []).map(Number);
    // A depth map is an image: the same limit as the decoders', from the header, before the malloc.
    const rows = Math.max(shape[0] ?? 1, 1);
    checkPixels(Number(meta.total_size) / rows, rows, source, `HDF5 dataset '${name}'`);
    const nbytes = meta.size * Number(meta.total_size);
    const pointer = module._malloc(Math.max(nbytes, 1));
    try {
      try {
        const status = module.get_dataset_data(file.file_id, entity.path, null, null, null, BigInt(pointer));
        if (status < 0) throw new Error(`get_dataset_data returned ${status}`);
      } catch (error) {
        throw new TrompeError(
          "corrupt",
          `cannot read the values of dataset '${name}': ${hdf5Reason(error)}`,
          {
            subject: source,
            hint: "the file may be truncated",
            cause: error,
          },
        );
      }
      return use({
        shape,
        dtype,
        data: typedArray(dtype, module.HEAPU8.buffer, pointer, nbytes / meta.size),
      });
    } finally {
      module._free(pointer);
    }
  });
}

/** Reads one dataset (default `dataset`, as Hypersim names them) from an HDF5 file. */
export async function readHdf5Dataset(path: string, name = "dataset"): Promise<Hdf5Dataset> {
  return parseHdf5Dataset(await readFileNamed(path), path, name);
}

export interface DepthHdf5Options {
  /** Stored type: "f16" (default, as Hypersim) or "f32". */
  dtype?: "f16" | "f32";
  /** gzip level 0–9 (default 4, h5py's default; Hypersim's own files use 9). 0 stores uncompressed chunks. */
  gzip?: number;
}

// IEEE single and half as HDF5 datatype message bodies (class 1 version 1, little-endian, implied MSB):
// bit field, size, bit offset, precision, exponent location and size, mantissa location and size, bias.
const FLOAT32_MESSAGE = [0x11, 0x20, 0x1f, 0, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0];
const FLOAT16_MESSAGE = [0x11, 0x20, 0x0f, 0, 2, 0, 0, 0, 0, 0, 16, 0, 10, 5, 0, 10, 15, 0, 0, 0];

function findAll(haystack: Uint8Array, matches: (at: number) => boolean): number[] {
  const found: number[] = [];
  for (let i = 0; i < haystack.length; i++) if (matches(i)) found.push(i);
  return found;
}

function patchOnce(
  bytes: Uint8Array,
  what: string,
  matches: (at: number) => boolean,
  patch: (at: number) => void,
) {
  const found = findAll(bytes, matches);
  if (found.length !== 1) {
    throw new TrompeError("io", `float16 HDF5 template: expected one ${what}, found ${found.length}`, {
      hint: "h5wasm's file layout changed; write with dtype 'f32'",
    });
  }
  patch(found[0]);
}

/** Turns an empty extendible float32 chunked dataset into a float16 one (see the module comment). */
function patchToFloat16(bytes: Uint8Array, chunks: [number, number]): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  patchOnce(
    bytes,
    "float32 datatype message",
    (at) => FLOAT32_MESSAGE.every((b, k) => bytes[at + k] === b),
    (at) => bytes.set(FLOAT16_MESSAGE, at),
  );
  // Layout message v3, chunked, rank 2 + 1: version 3, class 2, dimensionality 3, B-tree address (undefined
  // while empty), chunk sizes as u32, the last being the element size in bytes.
  patchOnce(
    bytes,
    "chunked layout message",
    (at) =>
      at + 23 <= bytes.length && bytes[at] === 3 && bytes[at + 1] === 2 && bytes[at + 2] === 3 &&
      bytes.subarray(at + 3, at + 11).every((b) => b === 0xff) &&
      view.getUint32(at + 11, true) === chunks[0] &&
      view.getUint32(at + 15, true) === chunks[1] && view.getUint32(at + 19, true) === 4,
    (at) => view.setUint32(at + 19, 2, true),
  );
}

/**
 * Version-1 object headers (the earliest format) hold the time as an "object modification time" message:
 * type 0x0012, body size 8, flags, 3 reserved bytes, then the body: version 1, 3 reserved bytes, u32 seconds
 * since the epoch. The header pattern is 12 fixed bytes, which compressed chunk data matches by chance with
 * probability ~2^-88 per position. The file has no checksums in this format, so nothing else changes.
 */
function zeroModificationTimes(bytes: Uint8Array): Uint8Array {
  const header = [0x12, 0, 8, 0, -1, 0, 0, 0, 1, 0, 0, 0];
  for (let at = 0; at + 16 <= bytes.length; at++) {
    if (bytes[at] !== 0x12) continue; // the first byte alone rules out almost every position
    if (header.every((b, k) => b < 0 || bytes[at + k] === b)) bytes.fill(0, at + 12, at + 16);
  }
  return bytes;
}

/**
 * Empty float16 files by chunk shape and gzip level, made once: a dataset's frames share one size, and the
 * template (~2 KB, read but never modified by a write) would otherwise be built and patched for every file.
 */
const float16Templates = new Map<string, Uint8Array>();

/** Encodes an H×W depth map as an HDF5 file with one chunked, gzip-compressed dataset named `dataset`. */
export async function encodeDepthHdf5(
  data: Float32Array,
  height: number,
  width: number,
  options: DepthHdf5Options = {},
): Promise<Uint8Array> {
  const { dtype = "f16", gzip = 4 } = options;
  if (data.length !== height * width) {
    throw new TrompeError("shape-mismatch", `depth has ${data.length} values, expected ${height}×${width}`);
  }
  if (!Number.isInteger(gzip) || gzip < 0 || gzip > 9) {
    throw new TrompeError("bad-argument", `gzip level must be an integer 0–9, got ${gzip}`);
  }
  const { module } = await h5Module();
  const chunks: [number, number] = [Math.max(1, Math.min(height, 96)), Math.max(1, Math.min(width, 128))];
  const compression = gzip > 0 ? { compression: "gzip" as const, compression_opts: gzip } : {};

  if (dtype === "f32") {
    return withFile(null, "w", "(new HDF5 file)", (file, finish) => {
      file.create_dataset({ name: "dataset", data, shape: [height, width], chunks, ...compression });
      return zeroModificationTimes(finish());
    });
  }

  const templateKey = `${chunks} ${gzip}`;
  let template = float16Templates.get(templateKey);
  if (!template) {
    template = await withFile(null, "w", "(float16 template)", (file, finish) => {
      file.create_dataset({
        name: "dataset",
        data: new Float32Array(0),
        shape: [0, 0],
        maxshape: [null, null],
        chunks,
        ...compression,
      });
      return finish();
    });
    patchToFloat16(template, chunks);
    float16Templates.set(templateKey, template);
  }
  const half = floatToHalfBits(data);
  return withFile(template, "a", "(float16 template)", (file, finish) => {
    module.resize_dataset(file.file_id, "/dataset", [BigInt(height), BigInt(width)]);
    const bytes = new Uint8Array(half.buffer);
    const pointer = module._malloc(Math.max(bytes.length, 1));
    try {
      module.HEAPU8.set(bytes, pointer);
      const status = module.set_dataset_data(file.file_id, "/dataset", null, null, null, BigInt(pointer));
      if (status < 0) throw new TrompeError("io", `h5wasm set_dataset_data returned ${status}`);
    } finally {
      module._free(pointer);
    }
    return zeroModificationTimes(finish());
  });
}

/** Writes an H×W depth map (dataset `dataset`, float16 by default) via a temporary name and a rename. */
export async function writeDepthHdf5(
  path: string,
  data: Float32Array,
  height: number,
  width: number,
  options: DepthHdf5Options = {},
): Promise<void> {
  await writeFileAtomic(path, await encodeDepthHdf5(data, height, width, options));
}
