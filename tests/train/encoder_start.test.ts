/**
 * train.py's --pretrained-from: the encoder's tensors come from the checkpoint, the depth head is the
 * official initialisation of the seed, and the metric head's max depth is asked for, never guessed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { initialWeights } from "../../core/nn/model/init_weights.ts";
import { saveEncoderStart } from "../../core/train/encoder_start.ts";
import { TrompeError } from "../../core/errors.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const TINY_A = join(REFERENCE_DIR, "tiny-a");

sharedTest("saveEncoderStart: pretrained.* from the file, the head at its initialisation", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "init.safetensors");
  const from = join(TINY_A, "weights.pth");
  const configFile = join(TINY_A, "config.json");
  const start = await saveEncoderStart(path, from, { configFile, maxDepth: 80 }, 3);
  const source = await loadCheckpoint(from, { configFile });
  const written = await loadCheckpoint(path);
  assert.equal(written.config.head, "metric");
  assert.equal(written.config.maxDepth, 80);
  const initial = initialWeights(written.config, 3);
  let encoder = 0;
  for (const [key, tensor] of written.stateDict) {
    const expected = key.startsWith("pretrained.") ? source.stateDict.get(key)! : initial.get(key)!;
    if (key.startsWith("pretrained.")) encoder++;
    assert.deepEqual(tensor.data, expected.data, key);
  }
  assert.equal(start.copied, encoder);
  assert.equal(start.initialised, written.stateDict.size - encoder);
  assert.ok(start.copied > 0 && start.initialised > 0);
  assert.match(JSON.stringify(written.provenance), /depth head at its initialisation/);

  try {
    await saveEncoderStart(join(dir, "other.safetensors"), from, { configFile }, 3);
    assert.fail("a metric head without a max depth was accepted");
  } catch (error) {
    assert.ok(error instanceof TrompeError);
    assert.equal(error.subject, "--max-depth");
  }
  await Deno.remove(dir, { recursive: true });
});
