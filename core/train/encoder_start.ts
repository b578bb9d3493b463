/**
 * train.py's --pretrained-from: a model whose encoder comes from a checkpoint and whose depth head is at its
 * initialisation. train.py loads only the keys with "pretrained" in their name (strict=False) into a freshly
 * built model; trompe does the same and writes the result beside the run, so --resume and a repeat start from
 * the identical file.
 */
import { TrompeError } from "../errors.ts";
import { type CheckpointOverrides, loadCheckpoint, saveCheckpoint } from "../nn/model/checkpoint.ts";
import type { ModelConfig } from "../nn/model/config.ts";
import { initialWeights } from "../nn/model/init_weights.ts";

export const ENCODER_PREFIX = "pretrained.";

/** The source's tensors and config; its head's kind does not matter, since the head is not kept. */
async function loadEncoderSource(from: string, configFile: string | undefined) {
  try {
    return await loadCheckpoint(from, { configFile });
  } catch (error) {
    const unknownHead = error instanceof TrompeError && /metric or relative|max depth/.test(error.message);
    if (!unknownHead) throw error;
    return await loadCheckpoint(from, { configFile, head: "relative" });
  }
}

/**
 * Writes to `path` the model to train: the architecture of `from` (or --config), the head `head` with its
 * max depth, every `pretrained.*` tensor from `from` and the rest at the official initialisation of `seed`.
 */
export async function saveEncoderStart(
  path: string,
  from: string,
  overrides: CheckpointOverrides,
  seed: number,
): Promise<{ config: ModelConfig; copied: number; initialised: number }> {
  const source = await loadEncoderSource(from, overrides.configFile);
  const head = overrides.head ?? "metric";
  if (head === "metric" && !(overrides.maxDepth !== undefined && overrides.maxDepth > 0)) {
    throw new TrompeError("bad-argument", "the metric head to train needs its max depth", {
      subject: "--max-depth",
      hint: "train.py's default is 20 (Hypersim); 80 for Virtual KITTI",
    });
  }
  const config: ModelConfig = {
    ...source.config,
    head,
    maxDepth: head === "metric" ? overrides.maxDepth : undefined,
  };
  const stateDict = initialWeights(config, seed);
  let copied = 0;
  for (const [key, tensor] of source.stateDict) {
    if (!key.startsWith(ENCODER_PREFIX)) continue;
    stateDict.set(key, tensor);
    copied++;
  }
  await saveCheckpoint(path, {
    config,
    stateDict,
    provenance: {
      parent: from,
      data: `encoder (${ENCODER_PREFIX}*) from ${from}; depth head at its initialisation (seed ${seed})`,
      seed,
    },
  });
  return { config, copied, initialised: stateDict.size - copied };
}
