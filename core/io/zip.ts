/**
 * Zip archives as torch.save writes them (PyTorch's miniz-based PyTorchStreamWriter), read with random access
 * so a multi-gigabyte checkpoint is never held twice in memory.
 *
 * Reading: the central directory (zip64 end record and per-entry zip64 extras included, since torch always
 * writes the zip64 end record and large checkpoints need the extras), stored and deflated entries, CRC-32
 * checked on every read. Writing: stored entries laid out the way torch lays them out — each entry's data
 * aligned to 64 bytes by an `FB` padding extra field in the local header, a data descriptor after the data,
 * zip64 extras only where a size or offset needs them, and a zip64 end record always.
 */
import { crc32 } from "node:zlib";
import { dirname } from "node:path";
import { asTrompeError, TrompeError } from "../errors.ts";
import { temporaryName } from "./atomic.ts";

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const DESCRIPTOR_SIG = 0x08074b50;
const END_SIG = 0x06054b50;
const ZIP64_END_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
/** General-purpose flags torch writes: bit 3 (sizes in a data descriptor) and bit 11 (UTF-8 names). */
const TORCH_FLAGS = 0x0808;
/** torch aligns every record's data to this many bytes so storages can be memory-mapped. */
export const TORCH_ALIGNMENT = 64;

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

/** Random access to the archive's bytes: a file on disk or a buffer. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): void;
}

class BufferSource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.byteLength;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    return Promise.resolve(this.bytes.subarray(offset, offset + length));
  }
  close(): void {}
}

class FileSource implements ByteSource {
  constructor(private readonly file: Deno.FsFile, readonly size: number) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
    await this.file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < out.length) {
      const n = await this.file.read(out.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return out.subarray(0, filled);
  }
  close(): void {
    this.file.close();
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(dv: DataView, at: number): number {
  const value = dv.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`64-bit field ${value} is too large`);
  return Number(value);
}

export class ZipReader {
  private readonly byName: Map<string, ZipEntry>;

  private constructor(
    /** The archive's path (or a label), named in every error. */
    readonly source: string,
    private readonly bytes: ByteSource,
    readonly entries: readonly ZipEntry[],
  ) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  static async open(path: string): Promise<ZipReader> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      throw asTrompeError(error, path);
    }
    const source = new FileSource(file, (await file.stat()).size);
    try {
      return await ZipReader.fromSource(source, path);
    } catch (error) {
      source.close();
      throw error;
    }
  }

  static fromBytes(bytes: Uint8Array, label: string): Promise<ZipReader> {
    return ZipReader.fromSource(new BufferSource(bytes), label);
  }

  static async fromSource(bytes: ByteSource, label: string): Promise<ZipReader> {
    return new ZipReader(label, bytes, await readCentralDirectory(bytes, label));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  entry(name: string): ZipEntry {
    const e = this.byName.get(name);
    if (!e) throw new TrompeError("corrupt", `the archive has no entry "${name}"`, { subject: this.source });
    return e;
  }

  /** Where the entry's data begins in the archive (after its local header and extra fields). */
  async dataOffset(name: string): Promise<number> {
    const e = this.entry(name);
    const header = await this.bytes.read(e.localHeaderOffset, 30);
    const dv = view(header);
    if (header.length < 30 || dv.getUint32(0, true) !== LOCAL_SIG) {
      throw this.corrupt(`entry "${name}" has no local header at byte ${e.localHeaderOffset}`);
    }
    return e.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
  }

  /** The entry's uncompressed bytes, CRC-32 checked. */
  async read(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const start = await this.dataOffset(name);
    if (start + e.compressedSize > this.bytes.size) {
      throw new TrompeError(
        "truncated",
        `entry "${name}" ends at byte ${start + e.compressedSize} but the file has ${this.bytes.size}`,
        { subject: this.source },
      );
    }
    const raw = await this.bytes.read(start, e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) data = raw;
    else if (e.method === 8) data = await this.inflate(raw, name);
    else {throw new TrompeError("unsupported", `entry "${name}" uses compression method ${e.method}`, {
        subject: this.source,
      });}
    if (data.byteLength !== e.size) {
      throw this.corrupt(`entry "${name}" holds ${data.byteLength} bytes, its header says ${e.size}`);
    }
    const actual = crc32(data);
    if (actual !== e.crc32) {
      throw this.corrupt(
        `entry "${name}" fails its CRC-32 check (stored ${hex(e.crc32)}, computed ${hex(actual)})`,
      );
    }
    return data;
  }

  async readText(name: string): Promise<string> {
    return new TextDecoder().decode(await this.read(name));
  }

  close(): void {
    this.bytes.close();
  }

  private async inflate(raw: Uint8Array, name: string): Promise<Uint8Array> {
    try {
      const stream = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("deflate-raw"),
      );
      return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (error) {
      throw new TrompeError("corrupt", `entry "${name}" does not inflate: ${(error as Error).message}`, {
        subject: this.source,
        cause: error,
      });
    }
  }

  private corrupt(message: string): TrompeError {
    return new TrompeError("corrupt", message, { subject: this.source, hint: "the zip archive is damaged" });
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/** Finds the end records, then parses every central-directory entry. */
async function readCentralDirectory(bytes: ByteSource, label: string): Promise<ZipEntry[]> {
  const corrupt = (message: string) =>
    new TrompeError("corrupt", message, { subject: label, hint: "not a valid zip archive" });
  // The end record is 22 bytes plus a comment of up to 65535 bytes, at the very end of the file.
  const tailStart = Math.max(0, bytes.size - 22 - U16_MAX);
  const tail = await bytes.read(tailStart, bytes.size - tailStart);
  const tv = view(tail);
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === END_SIG) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    const head = await bytes.read(0, 4);
    if (head.length === 4 && view(head).getUint32(0, true) === LOCAL_SIG) {
      throw new TrompeError("truncated", "the zip archive has no end-of-central-directory record", {
        subject: label,
        hint: "the file was cut short (an interrupted download or copy?)",
      });
    }
    throw corrupt("no zip end-of-central-directory record");
  }
  let count = tv.getUint16(end + 10, true);
  let cdSize = tv.getUint32(end + 12, true);
  let cdOffset = tv.getUint32(end + 16, true);
  const locator = end - 20;
  if (locator >= 0 && tv.getUint32(locator, true) === ZIP64_LOCATOR_SIG) {
    const at = u64(tv, locator + 8);
    const record = await bytes.read(at, 56);
    const rv = view(record);
    if (record.length < 56 || rv.getUint32(0, true) !== ZIP64_END_SIG) {
      throw corrupt(`no zip64 end record at byte ${at}`);
    }
    count = u64(rv, 32);
    cdSize = u64(rv, 40);
    cdOffset = u64(rv, 48);
  }
  if (cdOffset + cdSize > bytes.size) {
    throw new TrompeError("truncated", `the central directory ends past the file's ${bytes.size} bytes`, {
      subject: label,
    });
  }
  const cd = await bytes.read(cdOffset, cdSize);
  const cv = view(cd);
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== CENTRAL_SIG) {
      throw corrupt(`central directory entry ${i} of ${count} is damaged`);
    }
    const flags = cv.getUint16(p + 8, true);
    if (flags & 1) {
      throw new TrompeError("unsupported", "encrypted zip entries are not supported", { subject: label });
    }
    const nameLength = cv.getUint16(p + 28, true);
    const extraLength = cv.getUint16(p + 30, true);
    const commentLength = cv.getUint16(p + 32, true);
    if (p + 46 + nameLength + extraLength + commentLength > cd.length) {
      throw corrupt(`central directory entry ${i} runs past the directory`);
    }
    let name: string;
    try {
      name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLength));
    } catch {
      throw corrupt(`central directory entry ${i} has a name that is not UTF-8`);
    }
    let size = cv.getUint32(p + 24, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let localHeaderOffset = cv.getUint32(p + 42, true);
    // zip64: each field saturated at its 32-bit maximum is stored, in this order, in the 0x0001 extra.
    const extra = cd.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
    const ev = view(extra);
    for (let q = 0; q + 4 <= extra.length;) {
      const id = ev.getUint16(q, true);
      const length = ev.getUint16(q + 2, true);
      if (id === ZIP64_EXTRA_ID) {
        let r = q + 4;
        const next = () => {
          if (r + 8 > q + 4 + length) throw corrupt(`entry "${name}" has a short zip64 extra field`);
          const value = u64(ev, r);
          r += 8;
          return value;
        };
        if (size === U32_MAX) size = next();
        if (compressedSize === U32_MAX) compressedSize = next();
        if (localHeaderOffset === U32_MAX) localHeaderOffset = next();
      }
      q += 4 + length;
    }
    entries.push({
      name,
      method: cv.getUint16(p + 10, true),
      compressedSize,
      size,
      crc32: cv.getUint32(p + 16, true),
      localHeaderOffset,
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Where the archive's bytes go: a file or memory. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

interface WrittenEntry {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
}

/** The zip64 extra field miniz writes: only the fields that overflow 32 bits, in spec order. */
function zip64Extra(size: number | null, offset: number | null): Uint8Array {
  const fields = [size, size, offset].filter((v): v is number => v !== null);
  if (fields.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(4 + 8 * fields.length);
  const dv = view(out);
  dv.setUint16(0, ZIP64_EXTRA_ID, true);
  dv.setUint16(2, 8 * fields.length, true);
  fields.forEach((v, i) => dv.setBigUint64(4 + 8 * i, BigInt(v), true));
  return out;
}

/** Writes stored (uncompressed) entries in torch's layout, one after another, then the directory. */
export class ZipWriter {
  private position = 0;
  private readonly written: WrittenEntry[] = [];

  constructor(private readonly sink: ByteSink, private readonly alignment = TORCH_ALIGNMENT) {}

  async add(name: string, data: Uint8Array): Promise<void> {
    const nameBytes = new TextEncoder().encode(name);
    const offset = this.position;
    const big = data.byteLength >= U32_MAX;
    const far = offset >= U32_MAX;
    const z64 = zip64Extra(big ? data.byteLength : null, far ? offset : null);
    // The padding extra ("FB", length, then 'Z's) makes the data start on an alignment boundary.
    const unpadded = offset + 30 + nameBytes.length + z64.length + 4;
    const padding = (this.alignment - (unpadded % this.alignment)) % this.alignment;
    const header = new Uint8Array(30 + nameBytes.length + z64.length + 4 + padding);
    const hv = view(header);
    hv.setUint32(0, LOCAL_SIG, true);
    hv.setUint16(6, TORCH_FLAGS, true);
    hv.setUint16(26, nameBytes.length, true);
    hv.setUint16(28, z64.length + 4 + padding, true);
    header.set(nameBytes, 30);
    header.set(z64, 30 + nameBytes.length);
    const fb = 30 + nameBytes.length + z64.length;
    header.set([0x46, 0x42], fb);
    hv.setUint16(fb + 2, padding, true);
    header.fill(0x5a, fb + 4);
    const crc = crc32(data);
    const descriptor = new Uint8Array(z64.length > 0 ? 24 : 16);
    const dv = view(descriptor);
    dv.setUint32(0, DESCRIPTOR_SIG, true);
    dv.setUint32(4, crc, true);
    if (z64.length > 0) {
      dv.setBigUint64(8, BigInt(data.byteLength), true);
      dv.setBigUint64(16, BigInt(data.byteLength), true);
    } else {
      dv.setUint32(8, data.byteLength, true);
      dv.setUint32(12, data.byteLength, true);
    }
    await this.emit(header);
    await this.emit(data);
    await this.emit(descriptor);
    this.written.push({ name: nameBytes, crc, size: data.byteLength, offset });
  }

  /** Writes the central directory and the end records (zip64 always, as torch does). */
  async finish(): Promise<void> {
    const cdOffset = this.position;
    for (const e of this.written) {
      const big = e.size >= U32_MAX;
      const far = e.offset >= U32_MAX;
      const z64 = zip64Extra(big ? e.size : null, far ? e.offset : null);
      const header = new Uint8Array(46 + e.name.length + z64.length);
      const hv = view(header);
      hv.setUint32(0, CENTRAL_SIG, true);
      hv.setUint16(8, TORCH_FLAGS, true);
      hv.setUint32(16, e.crc, true);
      hv.setUint32(20, Math.min(e.size, U32_MAX), true);
      hv.setUint32(24, Math.min(e.size, U32_MAX), true);
      hv.setUint16(28, e.name.length, true);
      hv.setUint16(30, z64.length, true);
      hv.setUint32(42, Math.min(e.offset, U32_MAX), true);
      header.set(e.name, 46);
      header.set(z64, 46 + e.name.length);
      await this.emit(header);
    }
    const cdSize = this.position - cdOffset;
    const zip64End = this.position;
    const tail = new Uint8Array(56 + 20 + 22);
    const tv = view(tail);
    tv.setUint32(0, ZIP64_END_SIG, true);
    tv.setBigUint64(4, 44n, true);
    tv.setUint16(12, 0x031e, true); // made by: Unix, spec 3.0 (what miniz writes)
    tv.setUint16(14, 45, true); // needed: 4.5, zip64
    tv.setBigUint64(24, BigInt(this.written.length), true);
    tv.setBigUint64(32, BigInt(this.written.length), true);
    tv.setBigUint64(40, BigInt(cdSize), true);
    tv.setBigUint64(48, BigInt(cdOffset), true);
    tv.setUint32(56, ZIP64_LOCATOR_SIG, true);
    tv.setBigUint64(64, BigInt(zip64End), true);
    tv.setUint32(72, 1, true);
    tv.setUint32(76, END_SIG, true);
    tv.setUint16(84, Math.min(this.written.length, U16_MAX), true);
    tv.setUint16(86, Math.min(this.written.length, U16_MAX), true);
    tv.setUint32(88, Math.min(cdSize, U32_MAX), true);
    tv.setUint32(92, Math.min(cdOffset, U32_MAX), true);
    await this.emit(tail);
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    await this.sink.write(bytes);
    this.position += bytes.byteLength;
  }
}

/**
 * Streams a zip to `path` through a temporary name, renamed when complete, so neither a multi-gigabyte
 * archive is built in memory nor a half-written file is left under the final name.
 */
export async function writeZipFile(
  path: string,
  fill: (writer: ZipWriter) => Promise<void>,
): Promise<void> {
  const tmp = temporaryName(path);
  let file: Deno.FsFile | undefined;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    const out = file;
    const writer = new ZipWriter({
      async write(bytes) {
        for (let done = 0; done < bytes.byteLength;) done += await out.write(bytes.subarray(done));
      },
    });
    await fill(writer);
    await writer.finish();
    file.close();
    file = undefined;
    await Deno.rename(tmp, path);
  } catch (error) {
    file?.close();
    await Deno.remove(tmp).catch(() => {});
    throw asTrompeError(error, path);
  }
}
