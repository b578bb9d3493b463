/**
 * Image decoders against hostile headers (issue 13, cases 5 and 11): a file declaring an enormous size is
 * refused from its header, before any pixel memory (a 60000×60000 PNG of a few bytes once took 6 GB); a CMYK
 * JPEG is named as such; --max-pixels moves the limit (train's loader threads included); each is one line naming
 * the file, and the run goes on.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeImageRgb } from "../../core/io/image.ts";
import { TrompeError } from "../../core/errors.ts";
import {
  assertOneErrorLine,
  assertUnchanged,
  copyTree,
  FIXTURES,
  hashTree,
  inTempDir,
  runTask,
  smallModelConfig,
} from "./helpers.ts";

function pngDeclaring(width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(8 + 25 + 12);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, 13);
  bytes.set([..."IHDR"].map((c) => c.charCodeAt(0)), 12);
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes.set([8, 2, 0, 0, 0], 24); // 8-bit RGB; the CRC after it is never reached
  bytes.set([..."IEND"].map((c) => c.charCodeAt(0)), 8 + 25 + 4);
  return bytes;
}

function jpegDeclaring(width: number, height: number, components = 3): Uint8Array {
  const frame = [0xff, 0xc0, 0, 8 + 3 * components, 8, height >> 8, height & 255, width >> 8, width & 255];
  frame.push(components);
  for (let c = 1; c <= components; c++) frame.push(c, 0x11, 0);
  return new Uint8Array([0xff, 0xd8, ...frame, 0xff, 0xda, 0, 2, 0xff, 0xd9]);
}

async function decodeError(bytes: Uint8Array): Promise<TrompeError> {
  const error = await decodeImageRgb(bytes, "hostile").then(() => null, (e) => e);
  assert(error instanceof TrompeError, `decoded, or threw ${error}`);
  return error;
}

Deno.test("decoders refuse a declared 60000×60000 image from its header, at once", async () => {
  for (const bytes of [pngDeclaring(60000, 60000), jpegDeclaring(60000, 60000)]) {
    const started = performance.now();
    const error = await decodeError(bytes);
    assert.equal(error.code, "too-large");
    assert.match(
      error.oneLine(),
      /hostile: (PNG|JPEG) declares 60000×60000 = 3600000000 pixels, over the limit/,
    );
    assert(performance.now() - started < 1000, "the refusal should not decode anything");
  }
  const cmyk = await decodeError(jpegDeclaring(64, 64, 4));
  assert.match(cmyk.oneLine(), /unsupported: hostile: JPEG with 4 colour components \(CMYK or YCCK\)/);
});

Deno.test("data names each hostile frame in a tree and goes on; --max-pixels moves the limit", async () => {
  await inTempDir(async (dir) => {
    const root = join(dir, "hypersim");
    await copyTree(join(FIXTURES, "hypersim"), root);
    const frames = join(root, "ai_900_001/images/scene_cam_00_final_preview");
    await Deno.writeFile(join(frames, "frame.0000.tonemap.jpg"), pngDeclaring(60000, 60000));
    await Deno.writeFile(join(frames, "frame.0001.tonemap.jpg"), jpegDeclaring(64, 64, 4));
    const before = await hashTree(root);
    const run = await runTask("data", ["--dataset", "hypersim", "--root", root]);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stdout, /frame\.0000\.tonemap\.jpg: PNG declares 60000×60000 = 3600000000 pixels/);
    assert.match(run.stdout, /frame\.0001\.tonemap\.jpg: JPEG with 4 colour components/);
    assert.match(run.stdout, /6 frames \(4 read\)/);
    const strict = await runTask("data", ["--dataset", "hypersim", "--root", root, "--max-pixels", "1000"]);
    assert.equal(strict.code, 3, strict.stdout + strict.stderr);
    assert.match(strict.stdout, /6 frames \(0 read\)/);
    assert.match(strict.stdout, /JPEG declares 256×192 = 49152 pixels, over the limit of 1000/);
    assertOneErrorLine(
      await runTask("data", ["--dataset", "hypersim", "--root", root, "--max-pixels", "0"]),
      2,
      /--max-pixels: "0" is not an integer ≥ 1/,
    );
    await assertUnchanged(root, before, "the dataset");
  });
});

Deno.test("train applies --max-pixels in its loader's worker threads", async () => {
  await inTempDir(async (dir) => {
    const root = join(FIXTURES, "hypersim");
    const before = await hashTree(root);
    const train = (maxPixels: string) =>
      runTask("train", [
        ...["--init", "--config", join(dir, "model.json"), "--dataset", "hypersim", "--root", root],
        ...["--split", join(root, "splits/train.txt"), "--val-split", join(root, "splits/val.txt")],
        ...["--out", join(dir, "run"), "--img-size", "42", "--workers", "1", "--epochs", "1"],
        ...["--max-pixels", maxPixels],
      ]);
    await smallModelConfig(dir);
    // The fixture frames are 256×192: under a limit of 1000 pixels every one is refused from its header.
    assertOneErrorLine(
      await train("1000"),
      1,
      /all 4 training frames failed to load .*tonemap\.jpg: JPEG declares 256×192 = 49152 pixels, over the limit of 1000/,
    );
    await assert.rejects(() => Deno.stat(join(dir, "run/latest.safetensors")), Deno.errors.NotFound);
    assertOneErrorLine(await train("0"), 2, /--max-pixels: "0" is not an integer ≥ 1/);
    // A negative value reads as a flag: node:util says so over three lines, trompe on one.
    assertOneErrorLine(await train("-5"), 2, /--max-pixels.* is ambiguous\. .*--max-pixels=-XYZ/);
    await assertUnchanged(root, before, "the dataset");
  });
});

Deno.test("data on a root with no frames fails naming it", async () => {
  await inTempDir(async (dir) => {
    const missing = join(dir, "nonexistent");
    assertOneErrorLine(
      await runTask("data", ["--dataset", "hypersim", "--root", missing]),
      1,
      /empty: .*nonexistent: no hypersim frames found \(.*file not found\)/,
    );
    assertOneErrorLine(
      await runTask("data", ["--dataset", "vkitti2", "--root", join(FIXTURES, "hypersim")]),
      1,
      /no vkitti2 frames found/,
    );
  });
});
