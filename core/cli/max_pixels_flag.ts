/**
 * `--max-pixels N`, for every task that decodes images: the decompression-bomb limit of core/io/pixel_limit.ts,
 * raised for genuinely huge images or lowered on a small machine.
 */
import { DEFAULT_MAX_PIXELS, setMaxPixels } from "../io/pixel_limit.ts";
import { intFlag } from "./flags.ts";

export const MAX_PIXELS_FLAG = { "max-pixels": { type: "string" } } as const;

/** The --help line, its description starting at column `column` as the task's other flags do. */
export function maxPixelsHelp(column: number): string {
  return "  --max-pixels N".padEnd(column) +
    `largest image read, checked from its header before decoding (default ${DEFAULT_MAX_PIXELS})`;
}

/** Applies --max-pixels to this process and its workers; without it the default holds. */
export function applyMaxPixels(value: string | undefined): void {
  if (value !== undefined) setMaxPixels(intFlag(value, "--max-pixels", DEFAULT_MAX_PIXELS, 1));
}
