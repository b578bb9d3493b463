/**
 * An opcode-level pickle writer (protocol 2, the protocol torch.save uses), enough to write a state_dict the
 * way Python's pickler writes one: globals and strings memoized and fetched again with BINGET, dict items in
 * batches of 1000 under MARK … SETITEMS, small tuples with TUPLE1-3.
 */

/** Python's pickler flushes dict items in batches of this many. */
export const SETITEMS_BATCH = 1000;

export class PickleWriter {
  private chunks: number[] = [];
  private readonly memo = new Map<string, number>();
  private nextSlot = 0;
  private readonly encoder = new TextEncoder();

  constructor() {
    this.chunks.push(0x80, 2); // PROTO 2
  }

  /** A `module.name` global, memoized so a second use is a BINGET. */
  global(module: string, name: string): this {
    const key = `global:${module}\n${name}`;
    if (this.fetch(key)) return this;
    this.chunks.push(0x63, ...this.encoder.encode(`${module}\n${name}\n`));
    return this.put(key);
  }

  /** A str, memoized by value (strings are immutable, so sharing is invisible to the reader). */
  string(text: string): this {
    const key = `str:${text}`;
    if (this.fetch(key)) return this;
    const bytes = this.encoder.encode(text);
    this.chunks.push(0x58, ...le32(bytes.length), ...bytes); // BINUNICODE
    return this.put(key);
  }

  int(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an exact integer`);
    if (value >= 0 && value < 0x100) this.chunks.push(0x4b, value); // BININT1
    else if (value >= 0 && value < 0x10000) this.chunks.push(0x4d, value & 0xff, value >> 8); // BININT2
    else if (value >= -0x80000000 && value < 0x80000000) this.chunks.push(0x4a, ...le32(value)); // BININT
    else this.chunks.push(0x8a, ...long1(BigInt(value))); // LONG1
    return this;
  }

  bool(value: boolean): this {
    this.chunks.push(value ? 0x88 : 0x89);
    return this;
  }

  /** A tuple of ints, the way Python writes shapes and strides. */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) {
      this.chunks.push(0x29); // EMPTY_TUPLE
      return this;
    }
    if (values.length > 3) this.mark();
    for (const v of values) this.int(v);
    this.chunks.push(values.length > 3 ? 0x74 : [0x85, 0x86, 0x87][values.length - 1]);
    return this.memoize();
  }

  mark(): this {
    this.chunks.push(0x28);
    return this;
  }

  /** Closes the innermost MARK into a tuple. */
  tuple(): this {
    this.chunks.push(0x74);
    return this.memoize();
  }

  emptyTuple(): this {
    this.chunks.push(0x29);
    return this;
  }

  /** Calls the global below the argument tuple and memoizes the result, as Python's save_reduce does. */
  reduce(): this {
    this.chunks.push(0x52);
    return this.memoize();
  }

  /** Replaces the tuple on the stack by the object it names in the archive (torch's storages). */
  persistentId(): this {
    this.chunks.push(0x51);
    return this;
  }

  setItems(): this {
    this.chunks.push(0x75);
    return this;
  }

  setItem(): this {
    this.chunks.push(0x73);
    return this;
  }

  /** Ends the pickle and returns its bytes. */
  finish(): Uint8Array {
    this.chunks.push(0x2e); // STOP
    const out = Uint8Array.from(this.chunks);
    this.chunks = [];
    return out;
  }

  private fetch(key: string): boolean {
    const index = this.memo.get(key);
    if (index === undefined) return false;
    if (index < 0x100) this.chunks.push(0x68, index); // BINGET
    else this.chunks.push(0x6a, ...le32(index)); // LONG_BINGET
    return true;
  }

  private put(key: string): this {
    this.memo.set(key, this.nextSlot);
    return this.memoize();
  }

  /** BINPUT / LONG_BINPUT of the stack top into the next memo slot (Python memoizes every object it saves). */
  private memoize(): this {
    const slot = this.nextSlot++;
    if (slot < 0x100) this.chunks.push(0x71, slot);
    else this.chunks.push(0x72, ...le32(slot));
    return this;
  }
}

function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** LONG1: a length byte, then the minimal little-endian two's-complement bytes. */
function long1(value: bigint): number[] {
  const bytes: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.push(byte);
    v >>= 8n;
    if ((v === 0n && !(byte & 0x80)) || (v === -1n && byte & 0x80)) break;
  }
  return [bytes.length, ...bytes];
}
