import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeJpeg, encodeJpeg, readJpeg, writeJpeg } from "../../core/io/jpeg.ts";
import { readNpy } from "../../core/io/npy.ts";
import type { RasterU8 } from "../../core/io/raster.ts";
import { FORMATS_DIR, sharedTest } from "../shared.ts";

/** A smooth RGB test card (JPEG-friendly, so the round trip error stays small). */
function card(width: number, height: number): RasterU8 {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      data[i] = Math.round((255 * x) / (width - 1));
      data[i + 1] = Math.round((255 * y) / (height - 1));
      data[i + 2] = 128;
    }
  }
  return { width, height, channels: 3, data };
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

Deno.test("JPEG encode then decode gives the image back to JPEG loss", async () => {
  const image = card(70, 45);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "card.jpg");
  await writeJpeg(path, image, 95);
  const back = await readJpeg(path);
  assert.deepEqual([back.width, back.height, back.channels], [70, 45, 3]);
  const mad = meanAbsDiff(back.data, image.data);
  assert.ok(mad < 1.5, `q95 round trip should be within ~1 level on average, got ${mad}`);
  const small = await encodeJpeg(image, 20);
  assert.ok(small.length < (await Deno.readFile(path)).length, "quality must reach the encoder");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a truncated or non-JPEG file is a TrompeError naming it", async () => {
  const bytes = await encodeJpeg(card(64, 64));
  const dir = await Deno.makeTempDir();
  for (const length of [2, 300, Math.floor(bytes.length / 2), bytes.length - 2]) {
    const path = join(dir, `cut-${length}.jpg`);
    await Deno.writeFile(path, bytes.subarray(0, length));
    await assert.rejects(() => readJpeg(path), { name: "TrompeError", subject: path });
  }
  await assert.rejects(() => decodeJpeg(new Uint8Array(10), "zeros.jpg"), { message: /not a JPEG/ });
  await Deno.remove(dir, { recursive: true });
});

// The boxes' hard, saturated edges cost q95 JPEG ~3.4 levels on average; libjpeg-turbo (Pillow 11) decodes
// these files to exactly the pixels trompe does (checked by hand), and a channel swap would give > 50.
sharedTest("reference JPEGs decode to the encoded RGB up to JPEG loss", async () => {
  const frames = [
    ["hypersim/ai_001_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg", "ai_001_001/frame.0000"],
    ["hypersim/ai_001_001/images/scene_cam_00_final_preview/frame.0001.tonemap.jpg", "ai_001_001/frame.0001"],
    ["hypersim/ai_037_002/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg", "ai_037_002/frame.0000"],
  ];
  for (const [jpg, truth] of frames) {
    const image = await readJpeg(join(FORMATS_DIR, jpg));
    const rgb = await readNpy(join(FORMATS_DIR, "truth/hypersim", `${truth}.rgb.npy`));
    assert.deepEqual([image.height, image.width, image.channels], rgb.shape);
    const mad = meanAbsDiff(image.data, rgb.data as Uint8Array);
    assert.ok(mad < 4.5, `${jpg}: mean abs diff ${mad} is more than JPEG q95 loss`);
  }
});
