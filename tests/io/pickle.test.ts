import assert from "node:assert/strict";
import { TrompeError } from "../../core/errors.ts";
import { type GlobalFactory, unpickle } from "../../core/io/pickle.ts";
import { PickleWriter } from "../../core/io/pickle_writer.ts";

const text = (s: string) => [...new TextEncoder().encode(s)];
const le32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const binunicode = (s: string) => [0x58, ...le32(text(s).length), ...text(s)];
const shortUnicode = (s: string) => [0x8c, text(s).length, ...text(s)];

function expectForbidden(bytes: number[], qualified: string) {
  assert.throws(
    () => unpickle(Uint8Array.from(bytes), { source: "evil.pth", globals: new Map() }),
    (e: unknown) => {
      assert.ok(e instanceof TrompeError);
      assert.equal(e.code, "forbidden");
      assert.equal(e.subject, "evil.pth");
      assert.ok(e.message.includes(qualified), e.message);
      return true;
    },
  );
}

Deno.test("pickle: GLOBAL os.system is refused the moment it is met, and nothing after it runs", () => {
  // PROTO 2; GLOBAL 'os\nsystem'; BINUNICODE 'touch …'; TUPLE1; REDUCE; STOP — what a malicious .pth holds.
  const bytes = [0x80, 2, 0x63, ...text("os\nsystem\n"), ...binunicode("touch /tmp/pwned"), 0x85, 0x52, 0x2e];
  expectForbidden(bytes, "os.system");
  // JS cannot run os.system, so what "nothing runs" means here: no permitted factory is called after the
  // forbidden name, and the refusal comes at GLOBAL itself — the bytes after it are not even valid opcodes.
  const calls: unknown[][] = [];
  const globals = new Map<string, GlobalFactory>([["collections.OrderedDict", (args) => calls.push(args)]]);
  const after = [0x63, ...text("collections\nOrderedDict\n"), 0x29, 0x52, 0x2e];
  unpickle(Uint8Array.from([0x80, 2, ...after]), { source: "ok.pth", globals }); // OrderedDict(): the spy works
  assert.equal(calls.length, 1, "the permitted factory is called when nothing forbids it");
  const evil = [0x80, 2, 0x63, ...text("os\nsystem\n"), ...after];
  assert.throws(() => unpickle(Uint8Array.from(evil), { source: "evil.pth", globals }), /os\.system/);
  const garbage = [0x80, 2, 0x63, ...text("os\nsystem\n"), 0xff, 0xff];
  expectForbidden(garbage, "os.system");
  assert.equal(calls.length, 1, "nothing was called after the forbidden GLOBAL");
});

Deno.test("pickle: STACK_GLOBAL builtins.eval and subprocess.Popen are refused", () => {
  for (const [module, name] of [["builtins", "eval"], ["subprocess", "Popen"], ["posix", "system"]]) {
    const bytes = [
      0x80,
      4,
      ...shortUnicode(module),
      ...shortUnicode(name),
      0x93,
      ...shortUnicode("1"),
      0x85,
      0x52,
      0x2e,
    ];
    expectForbidden(bytes, `${module}.${name}`);
  }
});

Deno.test("pickle: a reference-only global cannot be called", () => {
  const globals = new Map<string, GlobalFactory>([["torch.FloatStorage", null]]);
  const bytes = Uint8Array.from([0x80, 2, 0x63, ...text("torch\nFloatStorage\n"), 0x29, 0x52, 0x2e]);
  assert.throws(() => unpickle(bytes, { source: "x.pth", globals }), (e: unknown) => {
    assert.ok(e instanceof TrompeError);
    assert.equal(e.code, "forbidden");
    assert.match(e.message, /torch\.FloatStorage/);
    return true;
  });
});

Deno.test("pickle: protocol-4 data decodes (frames, memoize, longs, floats, containers)", () => {
  // pickle.dumps({'a': [1, -2, 2**40, -(2**70), 1.5, None, True, False, (1, 2), (), (1, 2, 3, 4)],
  //               'b': 'é', 'c': b'xy', 3: {'n': {}}}, protocol=4), by CPython 3.11
  const hex =
    "80049562000000000000007d94288c0161945d94284b014afeffffff8a060000000000018a090000000000000000c0473ff8" +
    "0000000000004e88894b014b02869429284b014b024b034b047494658c0162948c02c3a9948c01639443027879944b037d94" +
    "8c016e947d9473752e";
  const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  const value = unpickle(bytes, { source: "data.pkl", globals: new Map() }) as Map<unknown, unknown>;
  assert.deepEqual(value.get("a"), [1, -2, 2 ** 40, -(2n ** 70n), 1.5, null, true, false, [1, 2], [], [
    1,
    2,
    3,
    4,
  ]]);
  assert.equal(value.get("b"), "é");
  assert.deepEqual(value.get("c"), new Uint8Array([0x78, 0x79]));
  assert.deepEqual(value.get(3), new Map([["n", new Map()]]));
});

Deno.test("pickle: the writer's output reads back, memoized strings and globals included", () => {
  const p = new PickleWriter();
  p.global("collections", "OrderedDict").emptyTuple().reduce().mark();
  p.string("x").int(70000).string("y").mark().int(-5).int(2 ** 40).string("x").tuple();
  p.setItems();
  const made: unknown[][] = [];
  const globals = new Map<string, GlobalFactory>([["collections.OrderedDict", (args) => {
    made.push(args);
    return new Map();
  }]]);
  const value = unpickle(p.finish(), { source: "w", globals });
  assert.deepEqual(value, new Map<string, unknown>([["x", 70000], ["y", [-5, 2 ** 40, "x"]]]));
  assert.deepEqual(made, [[]]);
});

Deno.test("pickle: a pickle cut short is reported as truncated", () => {
  const bytes = Uint8Array.from([0x80, 2, 0x7d, 0x28, ...binunicode("abc").slice(0, 6)]);
  assert.throws(() => unpickle(bytes, { source: "cut.pth", globals: new Map() }), (e: unknown) => {
    assert.ok(e instanceof TrompeError);
    assert.equal(e.code, "truncated");
    assert.equal(e.subject, "cut.pth");
    return true;
  });
});

Deno.test("pickle: an unknown opcode is refused, not skipped", () => {
  const bytes = Uint8Array.from([0x80, 2, 0x69, ...text("os\nsystem\n"), 0x2e]); // INST, the protocol-0 call
  assert.throws(() => unpickle(bytes, { source: "old.pth", globals: new Map() }), (e: unknown) => {
    assert.ok(e instanceof TrompeError);
    assert.equal(e.code, "unsupported");
    assert.match(e.message, /0x69/);
    return true;
  });
});
