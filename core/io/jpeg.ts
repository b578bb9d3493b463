/**
 * JPEG through @jsquash/jpeg (MozJPEG's libjpeg-turbo core in wasm), which decodes the reference JPEGs
 * bit-identically to OpenCV. Deno runs its module as published: the wasm is fetched from node_modules by its
 * own `import.meta.url`, which needs read permission only.
 */
import decode from "@jsquash/jpeg/decode.js";
import encode from "@jsquash/jpeg/encode.js";
import { TrompeError } from "../errors.ts";
import { readFileNamed, writeFileAtomic } from "./atomic.ts";
import type { RasterU8 } from "./raster.ts";

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function lastMarker(bytes: Uint8Array, code: number): number {
  for (let i = bytes.length - 2; i >= 0; i--) if (bytes[i] === 0xff && bytes[i + 1] === code) return i;
  return -1;
}

/**
 * libjpeg decodes a truncated file with only a warning (the missing rows come out gray), so check that the
 * end-of-image marker follows the last start-of-scan. Marker bytes cannot occur inside entropy-coded data
 * (0xFF is stuffed there), and an EXIF thumbnail's own EOI comes before the main image's scans.
 */
function isComplete(bytes: Uint8Array): boolean {
  return lastMarker(bytes, 0xd9) > lastMarker(bytes, 0xda);
}

export async function decodeJpeg(bytes: Uint8Array, source: string): Promise<RasterU8> {
  if (!isJpeg(bytes)) {
    throw new TrompeError("corrupt", "not a JPEG file (no SOI marker)", { subject: source });
  }
  if (!isComplete(bytes)) {
    throw new TrompeError("truncated", "JPEG ends before its end-of-image marker", {
      subject: source,
      hint: "the file was cut short; re-copy or re-download it",
    });
  }
  let image: ImageData;
  try {
    // the codec wants an ArrayBuffer of exactly the file, so copy out of a larger or shared buffer
    image = await decode(bytes.slice().buffer);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TrompeError("corrupt", `cannot decode JPEG: ${message}`, { subject: source, cause: error });
  }
  const { width, height } = image;
  const rgba = image.data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { width, height, channels: 3, data: rgb };
}

export async function readJpeg(path: string): Promise<RasterU8> {
  return decodeJpeg(await readFileNamed(path), path);
}

/**
 * Baseline, standard (Annex K) quantisation tables, 4:2:0, no progressive scans: close to what libjpeg and
 * OpenCV write, so augmented sets stay like the originals. Huffman tables are optimised because this MozJPEG
 * build writes undecodable scans with the standard tables ("bad Huffman code"); any decoder reads both.
 */
export async function encodeJpeg(image: RasterU8, quality = 95): Promise<Uint8Array> {
  const { width, height, channels } = image;
  if (image.data.length !== width * height * channels) {
    throw new TrompeError(
      "shape-mismatch",
      `JPEG: ${image.data.length} values for ${width}×${height}×${channels}`,
    );
  }
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = image.data[i * channels + (channels === 1 ? 0 : c)];
    rgba[4 * i + 3] = 255;
  }
  const out = await encode({ width, height, data: rgba, colorSpace: "srgb" } as ImageData, {
    quality,
    baseline: true,
    progressive: false,
    optimize_coding: true,
    quant_table: 0,
    trellis_multipass: false,
    trellis_opt_zero: false,
    trellis_opt_table: false,
    auto_subsample: false,
    chroma_subsample: 2,
  });
  return new Uint8Array(out);
}

export async function writeJpeg(path: string, image: RasterU8, quality = 95): Promise<void> {
  await writeFileAtomic(path, await encodeJpeg(image, quality));
}
