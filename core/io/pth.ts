/**
 * PyTorch checkpoints (`torch.save`'s zip format, PyTorch ≥ 1.6): `<archive>/data.pkl` describes the object
 * tree and every tensor as a view (offset, shape, stride) of a storage whose bytes are the entry
 * `<archive>/data/<key>`. Reading decodes data.pkl with the restricted unpickler and materialises every tensor
 * as float32; writing produces what PyTorch 2.x writes for a plain state_dict (an OrderedDict of contiguous
 * float32 tensors), so `torch.load(..., weights_only=True)` and a strict `load_state_dict` accept it.
 */
import { basename, extname } from "node:path";
import { crc32 } from "node:zlib";
import { TrompeError } from "../errors.ts";
import { type DType, DTYPE_BYTES, toFloat32 } from "./dtype.ts";
import { type GlobalFactory, unpickle } from "./pickle.ts";
import { PickleWriter, SETITEMS_BATCH } from "./pickle_writer.ts";
import { writeZipFile, ZipReader } from "./zip.ts";

/** A float32 tensor with its row-major shape. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** Tensors by their state_dict key, in file order. */
export type StateDict = Map<string, NamedTensor>;

/** torch's typed storage classes, as data.pkl names them in each storage's persistent id. */
const STORAGE_TYPES = new Map<string, DType>([
  ["torch.DoubleStorage", "F64"],
  ["torch.FloatStorage", "F32"],
  ["torch.HalfStorage", "F16"],
  ["torch.BFloat16Storage", "BF16"],
  ["torch.LongStorage", "I64"],
  ["torch.IntStorage", "I32"],
  ["torch.ShortStorage", "I16"],
  ["torch.CharStorage", "I8"],
  ["torch.ByteStorage", "U8"],
  ["torch.BoolStorage", "BOOL"],
]);

interface StorageRef {
  readonly key: string;
  readonly dtype: DType;
  readonly numel: number;
}

/** A tensor as data.pkl describes it: a strided view of a storage, not yet read. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** OrderedDict: a Map that accepts (and drops) the `_metadata` attribute a module's state_dict carries. */
class OrderedDict extends Map<unknown, unknown> {
  setState(): void {}
}

function intList(value: unknown, what: string, source: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && v >= 0)) {
    throw new TrompeError("corrupt", `a tensor's ${what} is not a tuple of integers`, { subject: source });
  }
  return value as number[];
}

/** Everything a state_dict or train.py's checkpoint needs, and nothing else. */
function torchGlobals(source: string): Map<string, GlobalFactory> {
  const rebuildTensor = (args: unknown[]) => {
    const [storage, offset, shape, stride] = args;
    if (!(storage && typeof storage === "object" && "key" in storage) || !Number.isSafeInteger(offset)) {
      throw new TrompeError("corrupt", "_rebuild_tensor_v2 gets malformed arguments", { subject: source });
    }
    return new TensorRef(
      storage as StorageRef,
      offset as number,
      intList(shape, "shape", source),
      intList(stride, "stride", source),
    );
  };
  // A saved nn.Parameter is its tensor plus requires_grad and hooks, which do not matter for weights.
  const rebuildParameter = (args: unknown[]) => args[0];
  const globals = new Map<string, GlobalFactory>([
    [
      "collections.OrderedDict",
      (args) => new OrderedDict(args.length ? (args[0] as [unknown, unknown][]) : []),
    ],
    ["torch._utils._rebuild_tensor_v2", rebuildTensor],
    ["torch._utils._rebuild_parameter", rebuildParameter],
    ["torch._utils._rebuild_parameter_with_state", rebuildParameter],
  ]);
  for (const name of STORAGE_TYPES.keys()) globals.set(name, null);
  return globals;
}

/** `('storage', storage_type, key, location, numel)` → a reference to `data/<key>`. */
function storageFromPersistentId(pid: unknown, source: string): StorageRef {
  const bad = (why: string) =>
    new TrompeError("corrupt", `bad storage reference: ${why}`, { subject: source });
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== "storage") throw bad("not ('storage', ...)");
  const [, type, key, , numel] = pid;
  const dtype = STORAGE_TYPES.get((type as { name?: string })?.name ?? "");
  if (!dtype) throw bad("unknown storage type");
  if (typeof key !== "string" || !/^\w+$/.test(key)) throw bad("storage key is not a name");
  if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw bad("element count is not an integer");
  return { key, dtype, numel: numel as number };
}

/** Copies a strided view (any offset, any non-negative strides) into a contiguous row-major array. */
function gather(src: Float32Array, t: TensorRef): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = t.offset;
  for (let i = 0; i < n; i++) {
    out[i] = src[at];
    for (let d = rank - 1; d >= 0; d--) {
      index[d] += 1;
      at += t.stride[d];
      if (index[d] < t.shape[d]) break;
      at -= t.stride[d] * t.shape[d];
      index[d] = 0;
    }
  }
  return out;
}

function isWholeContiguous(t: TensorRef, numel: number): boolean {
  if (t.offset !== 0 || t.shape.reduce((a, b) => a * b, 1) !== numel) return false;
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

class StorageCache {
  private readonly loaded = new Map<string, Float32Array>();
  constructor(private readonly zip: ZipReader, private readonly archive: string) {}

  async tensor(t: TensorRef, name: string): Promise<NamedTensor> {
    const { key, dtype, numel } = t.storage;
    let values = this.loaded.get(key);
    if (!values) {
      const bytes = await this.zip.read(`${this.archive}/data/${key}`);
      if (bytes.byteLength < numel * DTYPE_BYTES[dtype]) {
        throw new TrompeError(
          "corrupt",
          `storage ${key} has ${bytes.byteLength} bytes for ${numel} ${dtype}`,
          {
            subject: this.zip.source,
          },
        );
      }
      values = toFloat32(dtype, bytes.subarray(0, numel * DTYPE_BYTES[dtype]));
      this.loaded.set(key, values);
    }
    const n = t.shape.reduce((a, b) => a * b, 1);
    const last = t.offset + t.shape.reduce((sum, size, d) => sum + (size - 1) * t.stride[d], 0);
    if (n > 0 && last >= numel) {
      throw new TrompeError("corrupt", `tensor "${name}" reads past the end of storage ${key}`, {
        subject: this.zip.source,
      });
    }
    // A tensor that is its whole storage is handed out without a copy; any other view is copied out.
    const data = dtype === "F32" && isWholeContiguous(t, numel) ? values : gather(values, t);
    return { shape: [...t.shape], data };
  }
}

/** A JSON-friendly picture of a non-tensor entry (train.py's epoch, previous_best, optimizer). */
function summarize(value: unknown): unknown {
  if (value instanceof TensorRef) return { tensor: value.shape, dtype: value.storage.dtype };
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), summarize(v)]));
  }
  if (Array.isArray(value)) return value.map(summarize);
  if (value instanceof Set) return [...value].map(summarize);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return { bytes: value.byteLength };
  return value;
}

/** What a PyTorch checkpoint holds: the model's tensors and, for train.py's checkpoints, the rest. */
export interface PthContents {
  /** The zip's top folder: the stem of the file name the checkpoint was first saved under. */
  readonly archiveName: string;
  /** `state_dict`: the file is the tensors; `training`: train.py's `{model, optimizer, epoch, ...}`. */
  readonly kind: "state_dict" | "training";
  /** The model's tensors, `module.` prefixes (DistributedDataParallel) removed. */
  readonly tensors: StateDict;
  /** Every other top-level entry, summarised (tensors replaced by their shape and dtype). */
  readonly extras: Record<string, unknown>;
}

/** The model's tensors inside what data.pkl holds: the dict itself, or its `model`/`state_dict` entry. */
function findModel(
  root: unknown,
  source: string,
): { kind: PthContents["kind"]; model: Map<unknown, unknown> } {
  if (!(root instanceof Map)) {
    throw new TrompeError("unsupported", "the checkpoint is not a dict of tensors", { subject: source });
  }
  for (const key of ["model", "state_dict"]) {
    const inner = root.get(key);
    if (inner instanceof Map) return { kind: "training", model: inner };
  }
  return { kind: "state_dict", model: root };
}

/** Reads a `torch.save` checkpoint (.pth) with a restricted unpickler that never runs code. */
export async function readPth(path: string): Promise<PthContents> {
  const zip = await ZipReader.open(path);
  try {
    const first = zip.entries[0]?.name ?? "";
    const archiveName = first.includes("/") ? first.slice(0, first.indexOf("/")) : "";
    if (!archiveName || !zip.has(`${archiveName}/data.pkl`)) {
      throw new TrompeError("corrupt", "the zip holds no <archive>/data.pkl: not a torch.save checkpoint", {
        subject: path,
      });
    }
    const byteorder = zip.has(`${archiveName}/byteorder`)
      ? await zip.readText(`${archiveName}/byteorder`)
      : "little";
    if (byteorder !== "little") {
      throw new TrompeError("unsupported", `the checkpoint's tensors are ${byteorder}-endian`, {
        subject: path,
        hint: "re-save it with torch.save on a little-endian machine",
      });
    }
    const root = unpickle(await zip.read(`${archiveName}/data.pkl`), {
      source: path,
      globals: torchGlobals(path),
      persistentLoad: (pid) => storageFromPersistentId(pid, path),
    });
    const { kind, model } = findModel(root, path);
    const storages = new StorageCache(zip, archiveName);
    const tensors: StateDict = new Map();
    for (const [key, value] of model) {
      if (typeof key !== "string" || !(value instanceof TensorRef)) {
        throw new TrompeError("unsupported", `state_dict entry ${String(key)} is not a named tensor`, {
          subject: path,
        });
      }
      const name = key.startsWith("module.") ? key.slice("module.".length) : key;
      tensors.set(name, await storages.tensor(value, key));
    }
    const extras: Record<string, unknown> = {};
    if (kind === "training") {
      for (const [key, value] of root as Map<unknown, unknown>) {
        if (value !== model) extras[String(key)] = summarize(value);
      }
    }
    return { archiveName, kind, tensors, extras };
  } finally {
    zip.close();
  }
}

/** data.pkl for an OrderedDict of contiguous float32 tensors, storage `i` holding the i-th tensor. */
function pickleStateDict(tensors: StateDict): Uint8Array {
  const p = new PickleWriter();
  p.global("collections", "OrderedDict").emptyTuple().reduce();
  const names = [...tensors.keys()];
  for (let start = 0; start < names.length; start += SETITEMS_BATCH) {
    const batch = names.slice(start, start + SETITEMS_BATCH);
    if (batch.length > 1) p.mark();
    for (const [i, name] of batch.entries()) {
      const { shape } = tensors.get(name)!;
      const numel = shape.reduce((a, b) => a * b, 1);
      const stride = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
      p.string(name);
      p.global("torch._utils", "_rebuild_tensor_v2").mark();
      p.mark().string("storage").global("torch", "FloatStorage").string(String(start + i)).string("cpu");
      p.int(numel).tuple().persistentId();
      p.int(0).intTuple(shape).intTuple(stride).bool(false);
      p.global("collections", "OrderedDict").emptyTuple().reduce(); // backward hooks
      p.tuple().reduce();
    }
    if (batch.length > 1) p.setItems();
    else p.setItem();
  }
  return p.finish();
}

/**
 * torch's serialization id is 20 digits of a hash of the record names then 20 of a hash of their CRCs;
 * torch only logs it, so trompe computes its own (FNV-1a) the same shape, unique per content.
 */
function serializationId(records: readonly { name: string; data: Uint8Array }[]): string {
  const mask = (1n << 64n) - 1n;
  let names = 0xcbf29ce484222325n;
  let crcs = 0xcbf29ce484222325n;
  for (const { name, data } of records) {
    for (const byte of new TextEncoder().encode(name)) {
      names = ((names ^ BigInt(byte)) * 0x100000001b3n) & mask;
    }
    crcs = ((crcs ^ BigInt(crc32(data))) * 0x100000001b3n) & mask;
  }
  return names.toString().padStart(20, "0") + crcs.toString().padStart(20, "0");
}

export interface WritePthOptions {
  /** The zip's top folder; torch uses the stem of the file name, which is the default. */
  readonly archiveName?: string;
}

/** Writes a plain state_dict as PyTorch 2.x's torch.save does, through a temporary file. */
export async function writePth(
  path: string,
  tensors: StateDict,
  options: WritePthOptions = {},
): Promise<void> {
  const archive = options.archiveName ?? basename(path, extname(path));
  for (const [name, t] of tensors) {
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new TrompeError(
        "shape-mismatch",
        `tensor "${name}" has ${t.data.length} values for shape [${t.shape}]`,
        {
          subject: path,
        },
      );
    }
  }
  const text = (s: string) => new TextEncoder().encode(s);
  const records = [
    { name: "data.pkl", data: pickleStateDict(tensors) },
    { name: ".format_version", data: text("1") },
    { name: ".storage_alignment", data: text("64") },
    { name: "byteorder", data: text("little") },
    ...[...tensors.values()].map((t, i) => ({
      name: `data/${i}`,
      data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    })),
    { name: "version", data: text("3\n") },
  ];
  await writeZipFile(path, async (zip) => {
    for (const { name, data } of records) await zip.add(`${archive}/${name}`, data);
    await zip.add(`${archive}/.data/serialization_id`, text(serializationId(records)));
  });
}
