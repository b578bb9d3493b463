/**
 * JPEG decoding through @jsquash/jpeg (MozJPEG's libjpeg-turbo core in wasm), which decodes the reference
 * JPEGs bit-identically to OpenCV. Deno runs its module as published: the wasm is fetched from node_modules by
 * its own `import.meta.url`, which needs read permission only. Encoding is trompe's own (core/io/jpeg_encode.ts).
 */
import decode from "npm:@jsquash/jpeg@1.6.0/decode.js";
import { thrownText, TrompeError } from "../errors.ts";
import { checkPixels } from "./pixel_limit.ts";
import { readFileNamed, writeFileAtomic } from "./atomic.ts";
import { encodeJpeg } from "./jpeg_encode.ts";
import type { RasterU8 } from "./raster.ts";

export { encodeJpeg };

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * The frame header (SOFn): size and colour components, read before decoding so that an oversized or
 * four-component (CMYK/YCCK) file is refused in words before the codec allocates or fails obscurely.
 */
function frameHeader(bytes: Uint8Array): { width: number; height: number; components: number } | null {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (at + 10 > bytes.length) return null;
      return {
        height: (bytes[at + 5] << 8) | bytes[at + 6],
        width: (bytes[at + 7] << 8) | bytes[at + 8],
        components: bytes[at + 9],
      };
    }
    if (marker === 0xda) return null; // scan data before any frame header
    at += 2 + length;
  }
  return null;
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

/** Decodes JPEG bytes to 8-bit RGB (or gray), bit-identical to OpenCV's libjpeg-turbo. */
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
  const frame = frameHeader(bytes);
  if (!frame) throw new TrompeError("corrupt", "JPEG has no readable frame header", { subject: source });
  if (frame.components !== 1 && frame.components !== 3) {
    throw new TrompeError("unsupported", `JPEG with ${frame.components} colour components (CMYK or YCCK)`, {
      subject: source,
      hint: "convert it to an RGB JPEG or a PNG",
    });
  }
  checkPixels(frame.width, frame.height, source, "JPEG");
  let image: ImageData;
  try {
    // the codec wants an ArrayBuffer of exactly the file, so copy out of a larger or shared buffer
    image = await decode(bytes.slice().buffer);
  } catch (error) {
    throw new TrompeError("corrupt", `cannot decode JPEG: ${thrownText(error)}`, {
      subject: source,
      cause: error,
    });
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

/** Reads a JPEG file (see `decodeJpeg`). */
export async function readJpeg(path: string): Promise<RasterU8> {
  return decodeJpeg(await readFileNamed(path), path);
}

// The encoder is written here rather than taken from @jsquash/jpeg: its MozJPEG always runs trellis
// quantisation (no option turns it off), 230–290 ms per 1024×768 frame; libjpeg-turbo built to wasm without
// SIMD took 90 ms and jpeg-js 160 ms. This one writes what libjpeg writes by default (and OpenCV's imwrite
// with it): baseline JFIF, 4:2:0, the Annex K quantisation tables scaled by libjpeg's quality rule, the
// Annex K Huffman tables, edge blocks padded by replicating the last row and column.

/** Writes a JPEG file atomically at `quality` (1–100). */
export async function writeJpeg(path: string, image: RasterU8, quality = 95): Promise<void> {
  await writeFileAtomic(path, await encodeJpeg(image, quality));
}
