/**
 * A safetensors file whose header length runs past the file's end (issue 13, case 11): once reported as
 * "header is not JSON", as if the header were there and garbled; it is a cut-short or corrupt file, and the
 * one line says so, naming the file, with nothing written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertOneErrorLine, assertUnchanged, hashTree, inTempDir, runTask } from "./helpers.ts";

/** A one-tensor safetensors file whose 8-byte header length says `declared` instead of the header's size. */
function safetensorsDeclaring(declared: bigint): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }),
  );
  const bytes = new Uint8Array(8 + header.byteLength + 4);
  new DataView(bytes.buffer).setBigUint64(0, declared, true);
  bytes.set(header, 8);
  return bytes;
}

Deno.test("a safetensors header length past the file's end is one line naming the file", async () => {
  await inTempDir(async (dir) => {
    const inputs = join(dir, "in");
    await Deno.mkdir(inputs);
    // Just past the end, and a length no file could have (beyond 2^53: exact only as a bigint).
    const cases = [["short.safetensors", 1000n], ["huge.safetensors", 2n ** 63n + 7n]] as const;
    for (const [name, declared] of cases) {
      await Deno.writeFile(join(inputs, name), safetensorsDeclaring(declared));
    }
    const before = await hashTree(inputs);
    for (const [name] of cases) {
      const out = join(dir, `${name}.pth`);
      const run = await runTask("convert", [join(inputs, name), out]);
      const line = assertOneErrorLine(
        run,
        1,
        new RegExp(`truncated: .*in/${name.replace(".", "\\.")}: header claims \\d+ bytes but the file has `),
      );
      assert.doesNotMatch(line, /not JSON/);
      await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);
    }
    await assertUnchanged(inputs, before, "the checkpoints");
  });
});
