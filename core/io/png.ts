/**
 * PNG through pngjs. pngjs always hands back RGBA; we give channels as stored instead (gray 1, RGB 3, RGBA 4;
 * palette → RGB, or RGBA when it has transparency; gray+alpha → RGBA), 8-bit in a RasterU8 and 16-bit gray
 * as raw values in a RasterU16 (vKITTI2 depth is centimetres: it must never be rescaled to 8 bits).
 */
import { Buffer } from "node:buffer";
import { constants as zlibConstants, crc32, deflateSync } from "node:zlib";
import { PNG } from "pngjs";
import { TrompeError } from "../errors.ts";
import { readFileNamed, writeFileAtomic } from "./atomic.ts";
import type { RasterU16, RasterU8 } from "./raster.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Bit depth and colour type from IHDR, which the PNG specification requires to be the first chunk. */
function header(bytes: Uint8Array, source: string): { depth: number; colorType: number } {
  if (!isPng(bytes)) throw new TrompeError("corrupt", "not a PNG file (bad signature)", { subject: source });
  if (bytes.length < 33) {
    throw new TrompeError("truncated", "PNG ends inside its header", { subject: source });
  }
  return { depth: bytes[24], colorType: bytes[25] };
}

export function decodePng(bytes: Uint8Array, source: string): RasterU8 | RasterU16 {
  const { depth, colorType } = header(bytes, source);
  let png;
  try {
    // skipRescale only for 16 bits: sub-byte depths (1/2/4-bit gray) should still be scaled to 0–255
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      skipRescale: depth === 16,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TrompeError("corrupt", `cannot decode PNG: ${message}`, {
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

export async function readPng(path: string): Promise<RasterU8 | RasterU16> {
  return decodePng(await readFileNamed(path), path);
}

const COLOR_TYPE = { 1: 0, 3: 2, 4: 6 } as const;

export interface EncodePngOptions {
  /**
   * "adaptive" (default): pngjs tries every row filter and keeps the smallest, the best compression for
   * photographs and depth. "none": rows stored as they are, which deflate's run-length strategy alone packs
   * as tightly for label images (masks); written here, ~10× faster than pngjs, whose filtering runs in JS.
   */
  readonly filter?: "adaptive" | "none";
}

export function encodePng(image: RasterU8 | RasterU16, options: EncodePngOptions = {}): Uint8Array {
  const { width, height, channels } = image;
  if (image.data.length !== width * height * channels) {
    throw new TrompeError(
      "shape-mismatch",
      `PNG: ${image.data.length} values for ${width}×${height}×${channels}`,
    );
  }
  if (options.filter === "none") return encodeUnfiltered(image);
  const sixteen = image.data instanceof Uint16Array;
  // pngjs reinterprets 16-bit input as `new Uint16Array(data.buffer)`, ignoring byteOffset: hand it a copy
  // that starts at offset 0 (8-bit data it only indexes, which respects the view).
  const data = sixteen ? image.data.slice() : image.data;
  const colorType = COLOR_TYPE[channels];
  const out = PNG.sync.write(
    { width, height, data: data as unknown as Buffer } as PNG,
    { colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: sixteen ? 16 : 8 },
  );
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export async function writePng(
  path: string,
  image: RasterU8 | RasterU16,
  options: EncodePngOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodePng(image, options));
}

/**
 * The bytes pngjs writes with filter type 0 (the same IHDR, one IDAT deflated at pngjs's level 9 with the
 * run-length strategy, IEND), built directly: a filter byte of 0 before each row, 16-bit samples big-endian.
 */
function encodeUnfiltered(image: RasterU8 | RasterU16): Uint8Array {
  const { width, height, channels, data } = image;
  const sixteen = data instanceof Uint16Array;
  const rowValues = width * channels, stride = 1 + rowValues * (sixteen ? 2 : 1);
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * rowValues, (y + 1) * rowValues);
    if (!sixteen) raw.set(row, y * stride + 1);
    else {
      for (let i = 0, at = y * stride + 1; i < rowValues; i++, at += 2) {
        raw[at] = row[i] >> 8;
        raw[at + 1] = row[i] & 0xff;
      }
    }
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
  let at = 0;
  for (const part of parts) (out.set(part, at)), (at += part.length);
  return out;
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
