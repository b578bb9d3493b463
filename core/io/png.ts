/**
 * PNG: decoded through pngjs, encoded here (the bytes pngjs would write, faster; see encodePng). pngjs always
 * hands back RGBA; we give channels as stored instead (gray 1, RGB 3, RGBA 4;
 * palette → RGB, or RGBA when it has transparency; gray+alpha → RGBA), 8-bit in a RasterU8 and 16-bit gray
 * as raw values in a RasterU16 (vKITTI2 depth is centimetres: it must never be rescaled to 8 bits).
 */
import { Buffer } from "node:buffer";
import { constants as zlibConstants, crc32, deflateSync } from "node:zlib";
// @deno-types="npm:@types/pngjs@6.0.5"
import { PNG } from "npm:pngjs@7.0.0";
import { thrownText, TrompeError } from "../errors.ts";
import { checkPixels } from "./pixel_limit.ts";
import { readFileNamed, writeFileAtomic } from "./atomic.ts";
import type { RasterU16, RasterU8 } from "./raster.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Bit depth and colour type from IHDR, which the PNG specification requires to be the first chunk; its size
 * is checked against the pixel limit before pngjs allocates for it.
 */
function header(bytes: Uint8Array, source: string): { depth: number; colorType: number } {
  if (!isPng(bytes)) throw new TrompeError("corrupt", "not a PNG file (bad signature)", { subject: source });
  if (bytes.length < 33) {
    throw new TrompeError("truncated", "PNG ends inside its header", { subject: source });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkPixels(view.getUint32(16), view.getUint32(20), source, "PNG");
  return { depth: bytes[24], colorType: bytes[25] };
}

/** Decodes PNG bytes: 8-bit images with their channels as stored, 16-bit gray as raw values. */
export function decodePng(bytes: Uint8Array, source: string): RasterU8 | RasterU16 {
  const { depth, colorType } = header(bytes, source);
  let png;
  try {
    // skipRescale only for 16 bits: sub-byte depths (1/2/4-bit gray) should still be scaled to 0–255
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      skipRescale: depth === 16,
    });
  } catch (error) {
    throw new TrompeError("corrupt", `cannot decode PNG: ${thrownText(error)}`, {
      subject: source,
      hint: "the file may be truncated or damaged",
      cause: error,
    });
  }
  const { width, height } = png;
  const rgba = png.data as unknown as Uint8Array | Uint16Array;
  const n = width * height;

  if (depth === 16 && colorType === 0) {
    const data = new Uint16Array(n);
    // pngjs zeroes every channel of a pixel equal to the tRNS colour; alpha 0 marks them, so restore the value
    const trans = (png as unknown as { transColor?: number[] }).transColor?.[0];
    for (let i = 0; i < n; i++) data[i] = trans !== undefined && rgba[4 * i + 3] === 0 ? trans : rgba[4 * i];
    return { width, height, channels: 1, data };
  }

  const hasAlpha = png.alpha;
  const isColor = png.color || colorType === 3;
  const channels = hasAlpha ? 4 : isColor ? 3 : 1;
  const data = new Uint8Array(n * channels);
  // 16-bit colour has no RasterU16 form: scale to 8 bits the way pngjs itself rescales
  const scale = depth === 16 ? (v: number) => Math.floor((v * 255) / 65535 + 0.5) : (v: number) => v;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      // gray+alpha and gray with tRNS come back from pngjs as RGBA already, so channel c maps straight across
      data[i * channels + c] = scale(rgba[4 * i + c]);
    }
  }
  return { width, height, channels, data };
}

/** Reads a PNG file (see `decodePng`). */
export async function readPng(path: string): Promise<RasterU8 | RasterU16> {
  return decodePng(await readFileNamed(path), path);
}

const COLOR_TYPE = { 1: 0, 3: 2, 4: 6 } as const;

/** How `encodePng` filters rows and how hard it compresses. */
export interface EncodePngOptions {
  /**
   * "adaptive" (default): each row gets the filter whose output has the smallest sum of absolute differences,
   * the best compression for photographs and depth. "none": rows stored as they are, which deflate's
   * run-length strategy alone packs as tightly for label images (masks), and ~5× faster.
   */
  readonly filter?: "adaptive" | "none";
}

/**
 * Exactly the bytes pngjs writes (its IHDR, filter choice, one IDAT deflated at level 9 with the run-length
 * strategy, IEND; tested byte for byte), built here because pngjs's filtering and packing run per byte through
 * function calls: 30–50 ms for one 1024×768 mask, against a few here with the deflate in node:zlib.
 */
export function encodePng(image: RasterU8 | RasterU16, options: EncodePngOptions = {}): Uint8Array {
  const { width, height, channels, data } = image;
  if (data.length !== width * height * channels) {
    throw new TrompeError(
      "shape-mismatch",
      `PNG: ${data.length} values for ${width}×${height}×${channels}`,
    );
  }
  const sixteen = data instanceof Uint16Array;
  const bpp = channels * (sixteen ? 2 : 1), byteWidth = width * bpp;
  // Samples as the file stores them: bytes, 16-bit ones big-endian.
  let packed: Uint8Array;
  if (sixteen) {
    packed = new Uint8Array(byteWidth * height);
    for (let i = 0; i < data.length; i++) {
      packed[2 * i] = data[i] >> 8;
      packed[2 * i + 1] = data[i] & 0xff;
    }
  } else packed = data;
  const raw = new Uint8Array((byteWidth + 1) * height);
  for (let y = 0; y < height; y++) {
    const at = y * byteWidth, hasUp = y > 0;
    const type = options.filter === "none" ? FILTER_NONE : bestFilter(packed, at, byteWidth, bpp, hasUp);
    raw[y * (byteWidth + 1)] = type;
    filterRow(packed, at, byteWidth, bpp, hasUp, type, raw, y * (byteWidth + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = sixteen ? 16 : 8;
  header[9] = COLOR_TYPE[channels];
  const idat = deflateSync(raw, { level: 9, strategy: zlibConstants.Z_RLE });
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(idat.buffer, idat.byteOffset, idat.byteLength)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) (out.set(part, offset)), (offset += part.length);
  return out;
}

const FILTER_NONE = 0, FILTER_SUB = 1, FILTER_UP = 2, FILTER_AVERAGE = 3, FILTER_PAETH = 4;

/** Paeth's predictor (PNG specification 9.4): whichever neighbour is closest to left + up − upLeft. */
function paeth(left: number, up: number, upLeft: number): number {
  const p = left + up - upLeft;
  const pLeft = Math.abs(p - left), pUp = Math.abs(p - up), pUpLeft = Math.abs(p - upLeft);
  return pLeft <= pUp && pLeft <= pUpLeft ? left : pUp <= pUpLeft ? up : upLeft;
}

/**
 * pngjs's choice for one row: the first filter, in the order none, sub, up, average, Paeth, with the smallest
 * sum of absolute (unwrapped) differences; all five sums in one pass over the row.
 */
function bestFilter(packed: Uint8Array, at: number, byteWidth: number, bpp: number, hasUp: boolean): number {
  let none = 0, sub = 0, up = 0, average = 0, paethSum = 0;
  for (let x = 0; x < byteWidth; x++) {
    const i = at + x, value = packed[i];
    const a = x >= bpp ? packed[i - bpp] : 0;
    const b = hasUp ? packed[i - byteWidth] : 0;
    const c = hasUp && x >= bpp ? packed[i - byteWidth - bpp] : 0;
    none += value;
    sub += Math.abs(value - a);
    up += Math.abs(value - b);
    average += Math.abs(value - ((a + b) >> 1));
    paethSum += Math.abs(value - paeth(a, b, c));
  }
  const sums = [none, sub, up, average, paethSum];
  let best = FILTER_NONE;
  for (let f = FILTER_SUB; f <= FILTER_PAETH; f++) if (sums[f] < sums[best]) best = f;
  return best;
}

/** Writes one row of `packed` (starting at `at`) filtered with `type` into `out` at `outAt`. */
function filterRow(
  packed: Uint8Array,
  at: number,
  byteWidth: number,
  bpp: number,
  hasUp: boolean,
  type: number,
  out: Uint8Array,
  outAt: number,
): void {
  for (let x = 0; x < byteWidth; x++) {
    const i = at + x;
    const a = x >= bpp ? packed[i - bpp] : 0;
    const b = hasUp ? packed[i - byteWidth] : 0;
    const predicted = type === FILTER_NONE
      ? 0
      : type === FILTER_SUB
      ? a
      : type === FILTER_UP
      ? b
      : type === FILTER_AVERAGE
      ? (a + b) >> 1
      : paeth(a, b, hasUp && x >= bpp ? packed[i - byteWidth - bpp] : 0);
    out[outAt + x] = packed[i] - predicted;
  }
}

/** Writes an 8-bit or 16-bit gray PNG atomically. */
export async function writePng(
  path: string,
  image: RasterU8 | RasterU16,
  options: EncodePngOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodePng(image, options));
}

/** length, type, data, CRC-32 of type + data. */
function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}
