/**
 * safetensors (core/io/safetensors.ts) against a reader and a writer written here from the format's
 * specification, independently of trompe's code: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}` (padded with spaces), then
 * the tensors' little-endian bytes, offsets relative to the end of the header, with no gaps and no overlap.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TrompeError } from "../../core/errors.ts";
import { parseSafetensors, readSafetensors, writeSafetensors } from "../../core/io/safetensors.ts";
import { loadCheckpoint, saveCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

/** Bytes per element, from the specification's dtype list. */
const SIZE: Record<string, number> = {
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

interface Parsed {
  headerLength: number;
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  metadata: Record<string, string> | undefined;
  /** Each tensor's raw bytes. */
  bytes: Map<string, Uint8Array>;
}

/** The independent reader: checks the layout rules as it goes. */
function parseIndependently(file: Uint8Array): Parsed {
  let headerLength = 0;
  for (let i = 7; i >= 0; i--) headerLength = headerLength * 256 + file[i];
  const { __metadata__: metadata, ...header } = JSON.parse(
    new TextDecoder().decode(file.subarray(8, 8 + headerLength)),
  );
  const dataStart = 8 + headerLength;
  const spans: [number, number, string][] = [];
  const bytes = new Map<string, Uint8Array>();
  for (const [name, entry] of Object.entries(header) as [string, Parsed["header"][string]][]) {
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    assert.equal(
      end - begin,
      count * SIZE[entry.dtype],
      `${name}: byte count of [${entry.shape}] ${entry.dtype}`,
    );
    spans.push([begin, end, name]);
    bytes.set(name, file.subarray(dataStart + begin, dataStart + end));
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    assert.equal(begin, at, `${name} starts at ${begin}, not right after the tensor before it (${at})`);
    at = end;
  }
  assert.equal(dataStart + at, file.byteLength, "the tensors end where the file ends");
  return { headerLength, header, metadata, bytes };
}

/** The independent writer: tensors in the given order, header padded with spaces to a multiple of 8. */
function writeIndependently(
  tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  if (metadata) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += " ";
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  let n = headerBytes.byteLength;
  for (let i = 0; i < 8; i++, n = Math.floor(n / 256)) out[i] = n % 256;
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.byteLength;
  }
  return out;
}

/** Little-endian bytes of numbers written one by one through a DataView (not a typed-array view). */
function leBytes(kind: "f32" | "f64" | "f16" | "i64", values: number[]): Uint8Array {
  const size = { f32: 4, f64: 8, f16: 2, i64: 8 }[kind];
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (kind === "f32") dv.setFloat32(i * size, v, true);
    else if (kind === "f64") dv.setFloat64(i * size, v, true);
    else if (kind === "f16") dv.setUint16(i * size, v, true); // raw half-precision bits
    else dv.setBigInt64(i * size, BigInt(v), true);
  });
  return out;
}

const F32_VALUES = [0, -0, 1.5, -2.25e-3, 3.4e38, 1e-45, Infinity, -Infinity, NaN, 0.1];
const F64_VALUES = [Math.PI, -1e-300, 2 ** 60, 5e-324];
// 1.0, -2.0, 65504 (largest half), a subnormal, and NaN, as half-precision bit patterns.
const F16_BITS = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7e00];
const I64_VALUES = [-1, 0, 2 ** 53 - 1, -(2 ** 40)];

Deno.test("safetensors written by trompe parse with the independent reader: every dtype, shape and bit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "t.safetensors");
    const u8 = Uint8Array.from([1, 2, 3]);
    const bool = Uint8Array.from([1, 0, 1, 1]);
    const metadata = { "trompe.note": 'ünïcode ✓ and "quotes"', empty: "" };
    await writeSafetensors(path, [
      { name: "f32", dtype: "F32", shape: [2, 5], data: new Float32Array(F32_VALUES) },
      // three bytes: every tensor after it starts at an odd offset
      { name: "odd", dtype: "U8", shape: [3], data: u8 },
      { name: "f64", dtype: "F64", shape: [4], data: new Float64Array(F64_VALUES) },
      { name: "f16", dtype: "F16", shape: [5, 1], data: new Uint16Array(F16_BITS) },
      { name: "i64", dtype: "I64", shape: [2, 2], data: BigInt64Array.from(I64_VALUES.map(BigInt)) },
      { name: "scalar", dtype: "F32", shape: [], data: new Float32Array([7]) },
      { name: "empty", dtype: "F32", shape: [0, 3], data: new Float32Array(0) },
      { name: "mask", dtype: "BOOL", shape: [4], data: bool },
    ], metadata);
    const file = await Deno.readFile(path);
    const got = parseIndependently(file);

    assert.equal(got.headerLength % 8, 0, "header length a multiple of 8");
    const headerText = new TextDecoder().decode(file.subarray(8, 8 + got.headerLength));
    assert.match(headerText, /^\{.*\} *$/s, "JSON, then only spaces");
    assert.deepEqual(got.metadata, metadata);
    assert.deepEqual(Object.keys(got.header), ["f32", "odd", "f64", "f16", "i64", "scalar", "empty", "mask"]);
    const shapes = Object.fromEntries(Object.entries(got.header).map(([k, v]) => [k, [v.dtype, v.shape]]));
    assert.deepEqual(shapes, {
      f32: ["F32", [2, 5]],
      odd: ["U8", [3]],
      f64: ["F64", [4]],
      f16: ["F16", [5, 1]],
      i64: ["I64", [2, 2]],
      scalar: ["F32", []],
      empty: ["F32", [0, 3]],
      mask: ["BOOL", [4]],
    });
    assert.deepEqual(got.bytes.get("f32"), leBytes("f32", F32_VALUES));
    assert.deepEqual(got.bytes.get("odd"), u8);
    assert.deepEqual(got.bytes.get("f64"), leBytes("f64", F64_VALUES));
    assert.deepEqual(got.bytes.get("f16"), leBytes("f16", F16_BITS));
    assert.deepEqual(got.bytes.get("i64"), leBytes("i64", I64_VALUES));
    assert.deepEqual(got.bytes.get("scalar"), leBytes("f32", [7]));
    assert.equal(got.bytes.get("empty")!.byteLength, 0);
    assert.deepEqual(got.bytes.get("mask"), bool);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trompe reads a file from the independent writer: values, dtypes, metadata, tensors at odd offsets", () => {
  const file = writeIndependently([
    { name: "z.odd", dtype: "I8", shape: [1], bytes: Uint8Array.from([0xff]) },
    { name: "a.f32", dtype: "F32", shape: [10], bytes: leBytes("f32", F32_VALUES) },
    { name: "m.f64", dtype: "F64", shape: [2, 2], bytes: leBytes("f64", F64_VALUES) },
    { name: "h.f16", dtype: "F16", shape: [5], bytes: leBytes("f16", F16_BITS) },
    { name: "i.i64", dtype: "I64", shape: [4], bytes: leBytes("i64", I64_VALUES) },
  ], { format: "pt" });
  const st = parseSafetensors(file, "independent.safetensors");
  assert.deepEqual(st.metadata, { format: "pt" });
  assert.deepEqual(st.names().sort(), ["a.f32", "h.f16", "i.i64", "m.f64", "z.odd"]);
  assert.deepEqual([...st.raw("z.odd")], [-1]);
  assert.deepEqual([...st.float32("a.f32")], F32_VALUES.map(Math.fround));
  assert.ok(Object.is(st.float32("a.f32")[1], -0), "negative zero kept");
  assert.deepEqual([...st.float64("m.f64")], F64_VALUES);
  assert.deepEqual(st.shape("m.f64"), [2, 2]);
  assert.deepEqual([...st.float32("h.f16")], [1, -2, 65504, 2 ** -24, NaN]);
  assert.deepEqual([...(st.raw("i.i64") as BigInt64Array)], I64_VALUES.map(BigInt));
});

Deno.test("trompe refuses a safetensors file cut short, a header not JSON, and a byte count that misfits its shape", () => {
  const good = writeIndependently([
    { name: "a", dtype: "F32", shape: [2], bytes: leBytes("f32", [1, 2]) },
  ]);
  const expectCode = (bytes: Uint8Array, code: string, message: RegExp) =>
    assert.throws(
      () => parseSafetensors(bytes, "bad.safetensors"),
      (e: unknown) => e instanceof TrompeError && e.code === code && message.test(e.message),
    );
  expectCode(good.subarray(0, good.byteLength - 1), "truncated", /ends at byte 8 of 7/);
  expectCode(good.subarray(0, 5), "truncated", /only 5 bytes/);
  const wrongCount = writeIndependently([{
    name: "a",
    dtype: "F64",
    shape: [2],
    bytes: leBytes("f32", [1, 2]),
  }]);
  expectCode(wrongCount, "corrupt", /8 bytes for shape \[2\] of F64/);
  const notJson = good.slice();
  notJson[8] = 0x7b + 1;
  expectCode(notJson, "corrupt", /header is not JSON/);
});

sharedTest(
  "tiny-a: the independent reader and trompe's agree on Python's file, and on trompe's checkpoint",
  async () => {
    const reference = join(REFERENCE_DIR, "tiny-a/weights.safetensors");
    const python = parseIndependently(await Deno.readFile(reference));
    const trompe = await readSafetensors(reference);
    assert.deepEqual(trompe.names().sort(), [...python.bytes.keys()].sort());
    for (const [name, bytes] of python.bytes) {
      assert.deepEqual(trompe.shape(name), python.header[name].shape, name);
      const values = new Float32Array(bytes.byteLength / 4).map((_, i) =>
        new DataView(bytes.buffer, bytes.byteOffset).getFloat32(4 * i, true)
      );
      assert.deepEqual(trompe.float32(name), values, name);
    }

    // The checkpoint trompe's `train` saves: the same bytes under the same keys, and trompe's metadata.
    const { config, stateDict } = await loadCheckpoint(reference, {
      configFile: join(REFERENCE_DIR, "tiny-a/config.json"),
    });
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "best.safetensors");
      await saveCheckpoint(path, { config, stateDict, provenance: { parent: reference, steps: 3 } });
      const written = parseIndependently(await Deno.readFile(path));
      assert.deepEqual([...written.bytes.keys()].sort(), [...python.bytes.keys()].sort());
      for (const [name, bytes] of python.bytes) {
        assert.equal(written.header[name].dtype, "F32", name);
        assert.deepEqual(written.header[name].shape, python.header[name].shape, name);
        assert.deepEqual(written.bytes.get(name), bytes, name);
      }
      assert.deepEqual(JSON.parse(written.metadata!["trompe.config"]), JSON.parse(JSON.stringify(config)));
      assert.equal(written.metadata!["trompe.head"], "metric");
      assert.equal(written.metadata!["trompe.max_depth"], "20");
      assert.deepEqual(JSON.parse(written.metadata!["trompe.provenance"]), { parent: reference, steps: 3 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
