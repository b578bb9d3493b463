import assert from "node:assert/strict";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { TrompeError } from "../../core/errors.ts";
import { ZipReader, ZipWriter } from "../../core/io/zip.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const TINY_A_PTH = join(REFERENCE_DIR, "tiny-a/weights.pth");

async function writeToMemory(records: { name: string; data: Uint8Array }[]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const writer = new ZipWriter({ write: (bytes) => Promise.resolve(void chunks.push(bytes.slice())) });
  for (const { name, data } of records) await writer.add(name, data);
  await writer.finish();
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A one-entry archive built field by field, for what trompe's writer never produces: deflated data, and
 * zip64 extras in the central directory (torch writes them only past 4 GiB).
 */
function craftZip(
  name: string,
  payload: Uint8Array,
  method: number,
  size: number,
  crc: number,
  zip64: boolean,
) {
  const nameBytes = new TextEncoder().encode(name);
  const local = new Uint8Array(30 + nameBytes.length);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true);
  lv.setUint16(8, method, true);
  lv.setUint32(14, crc, true);
  lv.setUint32(18, payload.length, true);
  lv.setUint32(22, size, true);
  lv.setUint16(26, nameBytes.length, true);
  local.set(nameBytes, 30);
  const extra = new Uint8Array(zip64 ? 28 : 0);
  if (zip64) {
    const ev = new DataView(extra.buffer);
    ev.setUint16(0, 1, true);
    ev.setUint16(2, 24, true);
    ev.setBigUint64(4, BigInt(size), true);
    ev.setBigUint64(12, BigInt(payload.length), true);
    ev.setBigUint64(20, 0n, true);
  }
  const central = new Uint8Array(46 + nameBytes.length + extra.length);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(10, method, true);
  cv.setUint32(16, crc, true);
  cv.setUint32(20, zip64 ? 0xffffffff : payload.length, true);
  cv.setUint32(24, zip64 ? 0xffffffff : size, true);
  cv.setUint16(28, nameBytes.length, true);
  cv.setUint16(30, extra.length, true);
  cv.setUint32(42, zip64 ? 0xffffffff : 0, true);
  central.set(nameBytes, 46);
  central.set(extra, 46 + nameBytes.length);
  const end = new Uint8Array(22);
  const endv = new DataView(end.buffer);
  endv.setUint32(0, 0x06054b50, true);
  endv.setUint16(8, 1, true);
  endv.setUint16(10, 1, true);
  endv.setUint32(12, central.length, true);
  endv.setUint32(16, local.length + payload.length, true);
  return new Uint8Array([...local, ...payload, ...central, ...end]);
}

sharedTest("zip: reads torch's archive, every stored entry CRC-checked and 64-byte aligned", async () => {
  const zip = await ZipReader.open(TINY_A_PTH);
  try {
    assert.equal(zip.entries.length, 129);
    assert.equal(zip.entries[0].name, "weights/data.pkl");
    assert.equal(await zip.readText("weights/version"), "3\n");
    for (const e of zip.entries) {
      assert.equal((await zip.dataOffset(e.name)) % 64, 0, e.name);
      assert.equal((await zip.read(e.name)).byteLength, e.size);
    }
  } finally {
    zip.close();
  }
});

sharedTest("zip: the writer reproduces torch's archive byte for byte", async () => {
  const original = await Deno.readFile(TINY_A_PTH);
  const zip = await ZipReader.fromBytes(original, TINY_A_PTH);
  const records = [];
  for (const e of zip.entries) records.push({ name: e.name, data: await zip.read(e.name) });
  const rewritten = await writeToMemory(records);
  assert.equal(rewritten.byteLength, original.byteLength);
  assert.deepEqual(rewritten, original);
});

Deno.test("zip: written entries round-trip, data aligned by an FB padding field", async () => {
  const records = [
    { name: "a/data.pkl", data: new Uint8Array([1, 2, 3]) },
    { name: "a/data/0", data: new Uint8Array(1000).map((_, i) => i * 7) },
    { name: "a/empty", data: new Uint8Array(0) },
    { name: "a/ünïcode", data: new TextEncoder().encode("little") },
  ];
  const bytes = await writeToMemory(records);
  const zip = await ZipReader.fromBytes(bytes, "memory");
  assert.deepEqual(zip.entries.map((e) => e.name), records.map((r) => r.name));
  for (const r of records) {
    assert.deepEqual(await zip.read(r.name), r.data);
    const e = zip.entry(r.name);
    const at = await zip.dataOffset(r.name);
    assert.equal(at % 64, 0);
    const nameLength = new TextEncoder().encode(r.name).length;
    assert.equal(
      new TextDecoder().decode(
        bytes.subarray(e.localHeaderOffset + 30 + nameLength, e.localHeaderOffset + 32 + nameLength),
      ),
      "FB",
    );
    assert.equal(e.crc32, crc32(r.data));
  }
});

Deno.test("zip: deflated entries inflate", async () => {
  const text = new TextEncoder().encode("depth ".repeat(500));
  const deflated = new Uint8Array(
    await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw")))
      .arrayBuffer(),
  );
  assert.ok(deflated.length < text.length);
  const zip = await ZipReader.fromBytes(
    craftZip("x/t.txt", deflated, 8, text.length, crc32(text), false),
    "m",
  );
  assert.deepEqual(await zip.read("x/t.txt"), text);
});

Deno.test("zip: sizes and offsets come from zip64 extra fields when saturated", async () => {
  const data = new Uint8Array([9, 8, 7, 6, 5]);
  const zip = await ZipReader.fromBytes(craftZip("big/data/0", data, 0, data.length, crc32(data), true), "m");
  const e = zip.entry("big/data/0");
  assert.equal(e.size, 5);
  assert.equal(e.compressedSize, 5);
  assert.equal(e.localHeaderOffset, 0);
  assert.deepEqual(await zip.read("big/data/0"), data);
});

sharedTest("zip: a truncated archive is refused, naming the file", async () => {
  const original = await Deno.readFile(TINY_A_PTH);
  const path = await Deno.makeTempFile({ suffix: ".pth" });
  try {
    await Deno.writeFile(path, original.subarray(0, original.length >> 1));
    await assert.rejects(ZipReader.open(path), (e: unknown) => {
      assert.ok(e instanceof TrompeError);
      assert.equal(e.code, "truncated");
      assert.equal(e.subject, path);
      return true;
    });
  } finally {
    await Deno.remove(path);
  }
});

sharedTest("zip: a flipped data byte fails the CRC check", async () => {
  const bytes = (await Deno.readFile(TINY_A_PTH)).slice();
  const clean = await ZipReader.fromBytes(bytes, "weights.pth");
  const at = await clean.dataOffset("weights/data/1");
  bytes[at + 100] ^= 0x40;
  await assert.rejects(clean.read("weights/data/1"), (e: unknown) => {
    assert.ok(e instanceof TrompeError);
    assert.equal(e.code, "corrupt");
    assert.equal(e.subject, "weights.pth");
    assert.match(e.message, /CRC-32/);
    return true;
  });
  assert.equal((await clean.read("weights/data/0")).byteLength, 256); // the other entries still read
});

Deno.test("zip: a file that is not a zip is refused as corrupt", async () => {
  await assert.rejects(ZipReader.fromBytes(new Uint8Array(100).fill(7), "junk.pth"), (e: unknown) => {
    assert.ok(e instanceof TrompeError);
    assert.equal(e.code, "corrupt");
    assert.equal(e.subject, "junk.pth");
    return true;
  });
});
