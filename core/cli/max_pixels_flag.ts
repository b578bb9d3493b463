/**
 * `--max-pixels N`, for every task that decodes images: the decompression-bomb limit of core/io/pixel_limit.ts,
 * raised for genuinely huge images or lowered on a small machine. parseFlags applies it to this process (and
 * so to its workers, which read the limit from the environment) when a task declares it.
 */
import { DEFAULT_MAX_PIXELS } from "../io/pixel_limit.ts";

export const MAX_PIXELS_FLAG = { "max-pixels": { type: "string" } } as const;

/** The --help line, its description starting at column `column` as the task's other flags do. */
export function maxPixelsHelp(column: number): string {
  return "  --max-pixels N".padEnd(column) +
    `largest image read, checked from its header before decoding (default ${DEFAULT_MAX_PIXELS})`;
}
