/**
 * The .pth trompe writes, read at the level of pickle opcodes by a disassembler written here (not trompe's
 * unpickler), against the data.pkl torch.save wrote for tiny-a: train_ckpt.pth (train.py's checkpoint, the
 * model under `module.` keys) and weights.pth (the plain state_dict). Key by key, each tensor's entry —
 * `_rebuild_tensor_v2((storage, FloatStorage, key, cpu, numel), offset, shape, stride, False, OrderedDict())`
 * — must be the same opcodes with the same arguments, so torch's unpickler rebuilds the same tensor.
 * Memo slot numbers are left out (they count everything pickled before, which differs by container), and a
 * memo fetch stands for the value it fetches: Python memoizes every string and global, and so does trompe.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readPth, writePth } from "../../core/io/pth.ts";
import { ZipReader } from "../../core/io/zip.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

interface Op {
  /** The opcode's name as pickletools prints it. */
  name: string;
  /** Its argument, for opcodes that carry one. */
  arg?: string | number;
}

/** The protocol-2 opcodes torch.save and trompe use, by byte: name and how its argument is encoded. */
const OPCODES: Record<number, [string, "none" | "u8" | "u16" | "i32" | "u32" | "line2" | "str32" | "long1"]> =
  {
    0x80: ["PROTO", "u8"],
    0x7d: ["EMPTY_DICT", "none"],
    0x29: ["EMPTY_TUPLE", "none"],
    0x5d: ["EMPTY_LIST", "none"],
    0x28: ["MARK", "none"],
    0x58: ["BINUNICODE", "str32"],
    0x63: ["GLOBAL", "line2"],
    0x71: ["BINPUT", "u8"],
    0x72: ["LONG_BINPUT", "u32"],
    0x68: ["BINGET", "u8"],
    0x6a: ["LONG_BINGET", "u32"],
    0x4b: ["BININT1", "u8"],
    0x4d: ["BININT2", "u16"],
    0x4a: ["BININT", "i32"],
    0x8a: ["LONG1", "long1"],
    0x88: ["NEWTRUE", "none"],
    0x89: ["NEWFALSE", "none"],
    0x4e: ["NONE", "none"],
    0x74: ["TUPLE", "none"],
    0x85: ["TUPLE1", "none"],
    0x86: ["TUPLE2", "none"],
    0x87: ["TUPLE3", "none"],
    0x52: ["REDUCE", "none"],
    0x51: ["BINPERSID", "none"],
    0x73: ["SETITEM", "none"],
    0x75: ["SETITEMS", "none"],
    0x65: ["APPENDS", "none"],
    0x61: ["APPEND", "none"],
    0x62: ["BUILD", "none"],
    0x47: ["BINFLOAT", "none"],
    0x2e: ["STOP", "none"],
  };

function disassemble(pkl: Uint8Array): Op[] {
  const dv = new DataView(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  const ops: Op[] = [];
  let at = 0;
  while (at < pkl.length) {
    const code = pkl[at++];
    const known = OPCODES[code];
    if (!known) throw new Error(`opcode 0x${code.toString(16)} at ${at - 1} is not one torch.save writes`);
    const [name, encoding] = known;
    let arg: string | number | undefined;
    if (encoding === "u8") arg = pkl[at++];
    else if (encoding === "u16") (arg = dv.getUint16(at, true)), (at += 2);
    else if (encoding === "i32") (arg = dv.getInt32(at, true)), (at += 4);
    else if (encoding === "u32") (arg = dv.getUint32(at, true)), (at += 4);
    else if (encoding === "str32") {
      const n = dv.getUint32(at, true);
      arg = new TextDecoder().decode(pkl.subarray(at + 4, at + 4 + n));
      at += 4 + n;
    } else if (encoding === "line2") {
      const first = pkl.indexOf(0x0a, at), second = pkl.indexOf(0x0a, first + 1);
      arg = new TextDecoder().decode(pkl.subarray(at, second)).replace("\n", " ");
      at = second + 1;
    } else if (encoding === "long1") {
      const n = pkl[at];
      arg = `${n} bytes ${[...pkl.subarray(at + 1, at + 1 + n)].join(",")}`;
      at += 1 + n;
    }
    if (name === "BINFLOAT") at += 8;
    ops.push({ name, arg });
    if (name === "STOP") break;
  }
  return ops;
}

/**
 * Each entry of the dict whose keys `isKey` accepts: the tokens from its key to the next key at the same
 * MARK nesting (or to the SETITEMS that closes the dict), memo puts dropped and fetches replaced by what
 * they fetch. The dict's level is that of the first accepted key; strings nested deeper (a storage's key,
 * "cpu") are not keys.
 */
function entries(ops: Op[], isKey: (key: string) => boolean): Map<string, string[]> {
  const memo = new Map<number, string>();
  const tokens: { token: string; marks: number }[] = [];
  let marks = 0;
  let last = "";
  for (const op of ops) {
    if (op.name === "BINPUT" || op.name === "LONG_BINPUT") {
      memo.set(op.arg as number, last);
      continue;
    }
    const fetched = op.name === "BINGET" || op.name === "LONG_BINGET";
    const token = fetched
      ? memo.get(op.arg as number)!
      : `${op.name}${op.arg === undefined ? "" : ` ${op.arg}`}`;
    tokens.push({ token, marks });
    if (op.name === "MARK") marks += 1;
    if (op.name === "TUPLE" || op.name === "SETITEMS" || op.name === "APPENDS") marks -= 1;
    last = token;
  }
  const keyOf = (i: number) =>
    tokens[i].token.startsWith("BINUNICODE ") ? tokens[i].token.slice(11) : undefined;
  const level = tokens.find((_, i) => keyOf(i) !== undefined && isKey(keyOf(i)!))?.marks;
  const isKeyAt = (i: number) => tokens[i].marks === level && keyOf(i) !== undefined && isKey(keyOf(i)!);
  const found = new Map<string, string[]>();
  for (let i = 0; i < tokens.length; i++) {
    if (!isKeyAt(i)) continue;
    let end = i + 1;
    while (!(tokens[end].marks === level && (isKeyAt(end) || /^SETITEMS?$/.test(tokens[end].token)))) end++;
    found.set(keyOf(i)!, tokens.slice(i + 1, end).map((t) => t.token));
  }
  return found;
}

async function dataPkl(path: string): Promise<Uint8Array> {
  const zip = await ZipReader.open(path);
  try {
    const name = zip.entries.map((e) => e.name).find((n) => n.endsWith("/data.pkl"))!;
    return await zip.read(name);
  } finally {
    zip.close();
  }
}

for (const [file, prefix] of [["train_ckpt.pth", "module."], ["weights.pth", ""]] as const) {
  sharedTest(
    `pth: each tensor's pickle opcodes in trompe's .pth equal torch's in tiny-a/${file}`,
    async () => {
      const torchPath = join(REFERENCE_DIR, "tiny-a", file);
      const { tensors } = await readPth(torchPath);
      const dir = await Deno.makeTempDir();
      try {
        const path = join(dir, "finetuned.pth");
        await writePth(path, tensors);
        const keys = new Set(tensors.keys());
        const theirs = entries(disassemble(await dataPkl(torchPath)), (k) => k.startsWith(prefix));
        const ours = entries(disassemble(await dataPkl(path)), (k) => keys.has(k));
        assert.deepEqual(
          [...ours.keys()],
          [...theirs.keys()].map((k) => k.slice(prefix.length)),
          "keys, in order",
        );
        for (const [key, tokens] of theirs) assert.deepEqual(ours.get(key.slice(prefix.length)), tokens, key);
        // A sample entry, so a reader of the log sees what was compared.
        const [firstKey, firstTokens] = [...theirs][0];
        console.log(`${file}: ${theirs.size} entries equal; ${firstKey}: ${firstTokens.join(" · ")}`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

Deno.test("pth: the disassembler follows a hand-made entry's stack and resolves memo fetches", () => {
  // {"a": _rebuild(("s",)), "b": _rebuild(("s",))} with the global and "s" fetched from the memo the second time.
  const text = (s: string) => [...new TextEncoder().encode(s)];
  const str = (s: string) => [0x58, text(s).length, 0, 0, 0, ...text(s)];
  const bytes = Uint8Array.from([
    0x80,
    2,
    0x7d,
    0x71,
    0,
    0x28,
    ...str("a"),
    0x71,
    1,
    0x63,
    ...text("m\nf\n"),
    0x71,
    2,
    ...str("s"),
    0x71,
    3,
    0x85,
    0x52,
    ...str("b"),
    0x71,
    4,
    0x68,
    2,
    0x68,
    3,
    0x85,
    0x52,
    0x75,
    0x2e,
  ]);
  const got = entries(disassemble(bytes), (k) => k === "a" || k === "b");
  assert.deepEqual([...got.keys()], ["a", "b"]);
  assert.deepEqual(got.get("a"), ["GLOBAL m f", "BINUNICODE s", "TUPLE1", "REDUCE"]);
  assert.deepEqual(got.get("b"), ["GLOBAL m f", "BINUNICODE s", "TUPLE1", "REDUCE"]);
});
