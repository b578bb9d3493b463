/**
 * A parsed safetensors file as what the model takes: the state_dict (every tensor as float32, in the file's
 * order) and, for trompe's own checkpoints, the configuration their metadata records. Bytes only, no files,
 * so a browser reads checkpoints the way `loadCheckpoint` does.
 */
import { TrompeError } from "../../errors.ts";
import type { StateDict } from "../../io/pth.ts";
import type { SafetensorsFile } from "../../io/safetensors_format.ts";
import { type ModelConfig, parseConfig } from "./config.ts";

/** The `__metadata__` keys of trompe's safetensors checkpoints. */
export const METADATA = {
  config: "trompe.config",
  head: "trompe.head",
  maxDepth: "trompe.max_depth",
  provenance: "trompe.provenance",
} as const;

/**
 * Every tensor of `st` as a float32 state_dict entry (F16/BF16 upcast exactly), for
 * `DepthAnythingV2.fromStateDict`.
 */
export function stateDictFromSafetensors(st: SafetensorsFile): StateDict {
  return new Map(st.names().map((n) => [n, { shape: [...st.shape(n)], data: st.float32(n) }]));
}

/**
 * The configuration (with head and max depth) that trompe's safetensors metadata records, or undefined for a
 * file without it (an official or foreign checkpoint: its config must come from elsewhere).
 */
export function configFromMetadata(st: SafetensorsFile, source: string): ModelConfig | undefined {
  const json = st.metadata[METADATA.config];
  if (json === undefined) return undefined;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new TrompeError("corrupt", `${METADATA.config} is not JSON`, { subject: source });
  }
  const head = st.metadata[METADATA.head] ?? parsed.head;
  const maxDepth = st.metadata[METADATA.maxDepth] !== undefined
    ? Number(st.metadata[METADATA.maxDepth])
    : parsed.maxDepth;
  return parseConfig({ ...parsed, head, maxDepth }, `${source} (${METADATA.config})`);
}
