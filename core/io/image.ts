/**
 * Any RGB image trompe reads (dataset frames, art to paste, probe inputs): the format is sniffed from the
 * magic bytes, not the extension, and the result is always 8-bit RGB with 3 channels.
 */
import { TrompeError } from "../errors.ts";
import { readFileNamed } from "./atomic.ts";
import { decodeJpeg, isJpeg } from "./jpeg.ts";
import { decodePng, isPng } from "./png.ts";
import type { RasterU8 } from "./raster.ts";

/** RGB from gray (replicated) or RGBA (alpha dropped, not composited: depth models see the stored colour). */
export function toRgb(image: RasterU8): RasterU8 {
  const { width, height, channels, data } = image;
  if (channels === 3) return image;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = data[i * channels + (channels === 1 ? 0 : c)];
  }
  return { width, height, channels: 3, data: rgb };
}

/** Decodes JPEG or PNG bytes to 8-bit RGB (gray expanded, alpha dropped). */
export async function decodeImageRgb(bytes: Uint8Array, source: string): Promise<RasterU8> {
  if (isJpeg(bytes)) return await decodeJpeg(bytes, source);
  if (isPng(bytes)) {
    const image = decodePng(bytes, source);
    if (image.data instanceof Uint16Array) {
      throw new TrompeError("unsupported", "16-bit gray PNG is not an RGB image", {
        subject: source,
        hint: "16-bit PNGs are depth maps; read them with readPng",
      });
    }
    return toRgb(image as RasterU8);
  }
  throw new TrompeError("unsupported", "unknown image format (neither JPEG nor PNG)", {
    subject: source,
    hint: "trompe reads JPEG and PNG images",
  });
}

/** Reads a JPEG or PNG file as 8-bit RGB, what the models take. */
export async function readImageRgb(path: string): Promise<RasterU8> {
  return decodeImageRgb(await readFileNamed(path), path);
}
