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

/** PSNR in dB between two 8-bit buffers. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

// OpenCV wrote these JPEGs from truth/*.rgb.npy at q95 with libjpeg's defaults; trompe's encoder writes the
// same kind of file (baseline, 4:2:0, Annex K tables), so its loss matches libjpeg's to a fraction of a dB.
// (By hand: OpenCV 4.6 and Pillow 12 decode trompe's 1024×768 q95 output to identical pixels, 48.4 dB.)
sharedTest("trompe's JPEGs are baseline 4:2:0 and lose what libjpeg's q95 loses", async () => {
  for (
    const [jpg, truth] of [
      [
        "hypersim/ai_001_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg",
        "ai_001_001/frame.0000",
      ],
      [
        "hypersim/ai_037_002/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg",
        "ai_037_002/frame.0000",
      ],
    ]
  ) {
    const rgb = await readNpy(join(FORMATS_DIR, "truth/hypersim", `${truth}.rgb.npy`));
    const [height, width] = rgb.shape;
    const ours = await encodeJpeg({ width, height, channels: 3, data: rgb.data as Uint8Array }, 95);
    const sof = ours.findIndex((b, i) => b === 0xff && ours[i + 1] === 0xc0);
    assert.ok(sof > 0, "a baseline SOF0 frame");
    assert.deepEqual([...ours.subarray(sof + 10, sof + 19)], [1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1], "4:2:0");
    const theirs = await readJpeg(join(FORMATS_DIR, jpg));
    const mine = await decodeJpeg(ours, "trompe.jpg");
    const [a, b] = [psnr(mine.data, rgb.data as Uint8Array), psnr(theirs.data, rgb.data as Uint8Array)];
    assert.ok(Math.abs(a - b) < 0.5, `${truth}: trompe ${a.toFixed(2)} dB, OpenCV ${b.toFixed(2)} dB`);
  }
});

/** A smooth image of `channels` (gray: one ramp; RGB(A): a ramp per channel, alpha noise). */
function smooth(width: number, height: number, channels: 1 | 3 | 4): RasterU8 {
  const data = new Uint8Array(width * height * channels);
  const ramp = (t: number, d: number) => t / Math.max(1, d);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * channels;
      if (channels === 1) {
        data[at] = Math.round(40 + 180 * ramp(x + 2 * y, width + 2 * height - 3));
        continue;
      }
      data[at] = Math.round(255 * ramp(x, width - 1));
      data[at + 1] = Math.round(255 * ramp(y, height - 1));
      data[at + 2] = Math.round(60 + 100 * ramp(x + y, width + height - 2));
      if (channels === 4) data[at + 3] = (x * 97 + y * 31) % 256;
    }
  }
  return { width, height, channels, data } as RasterU8;
}

// Measured at q95 (2026-12-06): mean |error| 0 (1×1), 0.94 (37×21 RGB), 0.29 (17×9 gray), 1.01 (33×18 RGBA).
Deno.test("odd sizes, gray and RGBA encode and decode at their size, to the picture they hold", async () => {
  for (const [width, height, channels] of [[1, 1, 3], [37, 21, 3], [17, 9, 1], [33, 18, 4]] as const) {
    const image = smooth(width, height, channels);
    const back = await decodeJpeg(await encodeJpeg(image), "odd.jpg");
    assert.deepEqual([back.width, back.height, back.channels], [width, height, 3]);
    // What each pixel should decode to: gray in all three channels, RGBA's colour without its alpha.
    const want = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      for (let c = 0; c < 3; c++) want[3 * p + c] = image.data[p * channels + (channels === 1 ? 0 : c)];
    }
    const mad = meanAbsDiff(back.data, want);
    assert.ok(mad <= 3, `${width}×${height}×${channels}: mean |error| ${mad}`);
  }
  // Gray is encoded as the colour image with R = G = B, and alpha never reaches the file.
  const gray = smooth(17, 9, 1);
  const grayAsRgb = Uint8Array.from({ length: 17 * 9 * 3 }, (_, i) => gray.data[Math.floor(i / 3)]);
  assert.deepEqual(await encodeJpeg(gray), await encodeJpeg({ ...gray, channels: 3, data: grayAsRgb }));
  const rgba = smooth(33, 18, 4);
  const rgb = rgba.data.filter((_, i) => i % 4 !== 3);
  assert.deepEqual(await encodeJpeg(rgba), await encodeJpeg({ ...rgba, channels: 3, data: rgb }));
});
