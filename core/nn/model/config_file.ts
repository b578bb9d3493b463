/**
 * A model config read from a JSON file (`--config FILE`); the parsing is config.ts's, which stays free of
 * file access so a browser can take it.
 */
import { readFileNamed } from "../../io/atomic.ts";
import { TrompeError } from "../../errors.ts";
import { type HeadKind, type ModelConfig, parseConfig } from "./config.ts";

/**
 * `--config FILE`; `flags` (--head, --max-depth) stand in for the file's head and maxDepth where it has none,
 * so a custom size need not repeat them.
 */
export async function readConfigFile(
  path: string,
  flags: { head?: HeadKind; maxDepth?: number } = {},
): Promise<ModelConfig> {
  const text = new TextDecoder().decode(await readFileNamed(path));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TrompeError("bad-argument", `not JSON: ${(error as Error).message}`, { subject: path });
  }
  const withFlags = typeof json === "object" && json !== null
    ? { head: flags.head, maxDepth: flags.maxDepth, ...json }
    : json;
  return parseConfig(withFlags, path);
}
