/**
 * A restricted unpickler: it decodes the pickle opcodes that torch.save emits (protocol 2, plus the protocol
 * 4/5 framing and memo opcodes a newer writer may use) into plain JS values, and never executes anything.
 *
 * A pickle can name any Python callable (GLOBAL) and ask for it to be called (REDUCE), which is how a
 * malicious .pth runs `os.system`. Here every GLOBAL is looked up in an explicit table supplied by the caller;
 * a name that is absent is refused with a "forbidden" error the moment the opcode is met, so no later opcode
 * can act on it. Names in the table map to TS functions that build data (a Map, a tensor record), or to
 * `null` for names that may only be referenced (torch's storage types), never called.
 */
import { TrompeError } from "../errors.ts";

/** What the table maps a permitted global to: a data-building function, or null when it is never callable. */
export type GlobalFactory = ((args: unknown[]) => unknown) | null;

/** A permitted global as it sits on the pickle stack. */
export class PyGlobal {
  constructor(
    /** `module.name`, e.g. `torch.FloatStorage`. */
    readonly name: string,
    readonly factory: GlobalFactory,
  ) {}
}

/** An object that accepts BUILD's state (Python's `__setstate__` or `__dict__` update). */
export interface Buildable {
  setState(state: unknown): void;
}

export interface UnpickleOptions {
  /** The file the pickle came from, named in every error. */
  readonly source: string;
  /** `module.name` → what it may do. Anything absent is forbidden. */
  readonly globals: ReadonlyMap<string, GlobalFactory>;
  /** Resolves BINPERSID/PERSID ids (torch's storage references). */
  readonly persistentLoad?: (pid: unknown) => unknown;
}

type DictKey = string | number | bigint | boolean | null;

function isDictKey(value: unknown): value is DictKey {
  return value === null || ["string", "number", "bigint", "boolean"].includes(typeof value);
}

/** Python ints become numbers when exact, bigints otherwise. */
function fromBigInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/** A little-endian two's-complement integer (LONG1/LONG4). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return fromBigInt(value);
}

class Reader {
  private position = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly source: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.position;
  }

  private need(n: number): number {
    if (n < 0 || this.position + n > this.bytes.length) {
      throw new TrompeError("truncated", `the pickle ends inside an opcode at byte ${this.position}`, {
        subject: this.source,
      });
    }
    const at = this.position;
    this.position += n;
    return at;
  }

  u8(): number {
    return this.bytes[this.need(1)];
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  u64(): number {
    const value = this.view.getBigUint64(this.need(8), true);
    if (value > BigInt(this.bytes.length)) {
      throw new TrompeError("corrupt", `the pickle claims a length of ${value} bytes`, {
        subject: this.source,
      });
    }
    return Number(value);
  }
  f64(): number {
    return this.view.getFloat64(this.need(8), false); // BINFLOAT is big-endian
  }
  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) this.need(this.bytes.length - this.position + 1);
    const text = new TextDecoder().decode(this.bytes.subarray(this.position, end));
    this.position = end + 1;
    return text;
  }
}

const MARK = Symbol("mark");

/** Decodes one pickle into JS values: dicts as Maps, lists and tuples as arrays, sets as Sets. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const { source } = options;
  const r = new Reader(bytes, source);
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const decoder = new TextDecoder();
  const corrupt = (message: string) =>
    new TrompeError("corrupt", `${message} (pickle byte ${r.offset})`, { subject: source });

  const pop = (): unknown => {
    if (stack.length === 0) throw corrupt("the pickle pops an empty stack");
    const value = stack.pop();
    if (value === MARK) throw corrupt("the pickle pops a mark as a value");
    return value;
  };
  const top = (): unknown => {
    if (stack.length === 0) throw corrupt("the pickle reads an empty stack");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const previous = marks.pop();
    if (!previous) throw corrupt("the pickle closes a mark it never opened");
    stack = previous;
    return items;
  };
  const lookupGlobal = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (!options.globals.has(qualified)) {
      throw new TrompeError("forbidden", `the pickle imports ${qualified}, which trompe does not allow`, {
        subject: source,
        hint:
          "a checkpoint holds only tensors and plain data; this file may be malicious, nothing in it was run",
      });
    }
    return new PyGlobal(qualified, options.globals.get(qualified)!);
  };
  const call = (callee: unknown, args: unknown): unknown => {
    if (!(callee instanceof PyGlobal)) throw corrupt("the pickle calls something that is not a global");
    if (!callee.factory) {
      throw new TrompeError("forbidden", `the pickle calls ${callee.name}, which may only be referenced`, {
        subject: source,
      });
    }
    if (!Array.isArray(args)) throw corrupt(`the pickle calls ${callee.name} without an argument tuple`);
    return callee.factory(args);
  };
  const setItem = (dict: unknown, key: unknown, value: unknown) => {
    if (!(dict instanceof Map)) throw corrupt("the pickle sets an item on something that is not a dict");
    if (!isDictKey(key)) {
      throw new TrompeError("unsupported", "the pickle uses a dict key that is not a string or number", {
        subject: source,
      });
    }
    dict.set(key, value);
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) throw corrupt("the pickle appends to something that is not a list");
    list.push(...items);
  };
  const get = (index: number) => {
    if (!memo.has(index)) throw corrupt(`the pickle reads memo slot ${index} before writing it`);
    stack.push(memo.get(index));
  };

  for (;;) {
    const at = r.offset;
    const op = r.u8();
    switch (op) {
      case 0x80: // PROTO
        if (r.u8() > 5) throw corrupt("the pickle uses a protocol newer than 5");
        break;
      case 0x95: // FRAME: framing is transparent to a reader holding the whole pickle
        r.u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) {
          throw corrupt("the pickle stops with a malformed stack");
        }
        return stack[0];
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(r.i32());
        break;
      case 0x4b: // BININT1
        stack.push(r.u8());
        break;
      case 0x4d: // BININT2
        stack.push(r.u16());
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(r.take(r.u8())));
        break;
      case 0x8b: // LONG4
        stack.push(decodeLong(r.take(r.u32())));
        break;
      case 0x47: // BINFLOAT
        stack.push(r.f64());
        break;
      case 0x58: // BINUNICODE
        stack.push(decoder.decode(r.take(r.u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decoder.decode(r.take(r.u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decoder.decode(r.take(r.u64())));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(decoder.decode(r.take(r.u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(decoder.decode(r.take(r.u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(r.take(r.u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(r.take(r.u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(r.take(r.u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) throw corrupt("the pickle builds a dict from an odd number of items");
        const dict = new Map();
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i], items[i + 1]);
        stack.push(dict);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: { // LIST
        const items = popMark(); // before touching `stack`: popMark replaces it
        stack.push(items);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: { // TUPLE
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) throw corrupt("the pickle adds items to something that is not a set");
        for (const item of items) set.add(item);
        break;
      }
      case 0x91: { // FROZENSET
        const items = popMark();
        stack.push(new Set(items));
        break;
      }
      case 0x61: { // APPEND
        const item = pop();
        append(top(), [item]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) throw corrupt("the pickle sets an odd number of dict items");
        const dict = top();
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i], items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(r.u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(r.u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        get(r.u8());
        break;
      case 0x6a: // LONG_BINGET
        get(r.u32());
        break;
      case 0x63: { // GLOBAL: the refusal happens here, before any later opcode could use the name
        const module = r.line();
        stack.push(lookupGlobal(module, r.line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          throw corrupt("STACK_GLOBAL needs a module and a name");
        }
        stack.push(lookupGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args), built by the same permitted factory
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const target = top() as Partial<Buildable> | null;
        if (typeof target?.setState !== "function") {
          throw new TrompeError("unsupported", "the pickle sets state on an object that takes none", {
            subject: source,
          });
        }
        target.setState(state);
        break;
      }
      case 0x51: { // BINPERSID
        if (!options.persistentLoad) throw corrupt("the pickle references external data");
        stack.push(options.persistentLoad(pop()));
        break;
      }
      default:
        throw new TrompeError(
          "unsupported",
          `pickle opcode 0x${op.toString(16).padStart(2, "0")} at byte ${at} is not supported`,
          { subject: source, hint: "trompe reads the pickles that torch.save writes" },
        );
    }
  }
}
