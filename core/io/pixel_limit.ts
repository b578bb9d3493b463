/**
 * The largest image the decoders accept, checked against the size a file's header declares before any pixel
 * memory is allocated: a 2 KB PNG can declare 60000×60000 and take the machine's memory (a decompression
 * bomb), and the same decoders read dataset frames, art folders and predict's inputs.
 *
 * The limit lives in the environment (TROMPE_MAX_PIXELS) rather than in a module variable because the decoders
 * also run in worker threads, each with its own copy of this module, and every thread of a process shares its
 * environment: a task sets it once from --max-pixels and its workers see it.
 */
import { TrompeError } from "../errors.ts";

/** 100 megapixels: twice a 48 MP (8000×6000) photograph, 1.2 GB as the RGBA a decoder makes. */
export const DEFAULT_MAX_PIXELS = 100_000_000;
const VARIABLE = "TROMPE_MAX_PIXELS";

/** The limit this process's decoders apply. */
export function maxPixels(): number {
  let value: string | undefined;
  try {
    value = Deno.env.get(VARIABLE);
  } catch {
    // no permission to read the environment (trompe used as a library): the default holds
  }
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_PIXELS;
}

/** Sets the limit for this process and its workers (what --max-pixels does). */
export function setMaxPixels(pixels: number): void {
  Deno.env.set(VARIABLE, String(pixels));
}

/** Throws before a decoder allocates for an image larger than the limit. */
export function checkPixels(width: number, height: number, source: string, what = "image"): void {
  const limit = maxPixels();
  if (width * height <= limit) return;
  throw new TrompeError(
    "too-large",
    `${what} declares ${width}×${height} = ${width * height} pixels, over the limit of ${limit}`,
    { subject: source, hint: "raise --max-pixels if the file is genuine" },
  );
}
