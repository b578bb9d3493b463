/**
 * `deno task train --freeze decoder` and `--freeze blocks:A-B` in a real run: tiny-a on the Hypersim
 * fixtures for two steps, from the command line. The frozen weights leave the run bitwise as they came,
 * every trainable parameter that gets a gradient moved, and the optimizer state (train_state.safetensors)
 * holds moments for exactly those. (One step's gradients under each policy are held to train.py's in
 * tests/train/train_step.test.ts.)
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { loadCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { loadTrainState } from "../../core/train/train_state.ts";
import { REFERENCE_DIR, runTaskFile, sharedTest } from "../shared.ts";

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures/hypersim");
const TINY_A = join(REFERENCE_DIR, "tiny-a");

/** Frozen under each policy, by the official key names (not through trompe's isTrainable). */
const POLICIES: [string, (key: string) => boolean][] = [
  ["decoder", (key) => key.startsWith("depth_head.")],
  ["blocks:1-2", (key) => /^pretrained\.blocks\.[12]\./.test(key)],
];

for (const [policy, frozen] of POLICIES) {
  sharedTest(
    `deno task train --freeze ${policy}: frozen weights bitwise kept, the rest trained`,
    async () => {
      const out = await Deno.makeTempDir({ prefix: "trompe-freeze-" });
      try {
        const run = await runTaskFile("train", [
          ...["--weights", join(TINY_A, "weights.safetensors"), "--config", join(TINY_A, "config.json")],
          ...["--dataset", "hypersim", "--root", FIXTURES, "--split", join(FIXTURES, "splits/train.txt")],
          ...["--val-split", join(FIXTURES, "splits/val.txt"), "--out", out, "--freeze", policy],
          ...["--img-size", "42", "--max-steps", "2", "--lr", "1e-4", "--workers", "1"],
        ]);
        assert.equal(run.code, 0, run.stderr);
        const settings = JSON.parse(await Deno.readTextFile(join(out, "train.settings.json")));
        assert.deepEqual(
          settings.freeze,
          policy === "decoder" ? { kind: "decoder" } : { kind: "blocks", first: 1, last: 2 },
        );

        const before = (await loadCheckpoint(join(TINY_A, "weights.safetensors"), {
          configFile: join(TINY_A, "config.json"),
        })).stateDict;
        const after = (await loadCheckpoint(join(out, "latest.safetensors"))).stateDict;
        const state = await loadTrainState(join(out, "train_state.safetensors"));
        // mask_token gets no gradient; refinenet4's first residual unit is never called.
        const getsGradient = (key: string) =>
          key !== "pretrained.mask_token" && !key.includes("refinenet4.resConfUnit1");
        const trained = [...before.keys()].filter((k) => !frozen(k) && getsGradient(k));
        assert.ok(trained.length > 0 && trained.length < before.size);
        for (const [key, t] of before) {
          const bits = (a: ArrayLike<number>) => new Uint32Array(Float32Array.from(a).buffer);
          const same = bits(after.get(key)!.data as ArrayLike<number>).every((v, i) =>
            v === bits(t.data as ArrayLike<number>)[i]
          );
          if (frozen(key)) assert.ok(same, `${key} is frozen under --freeze ${policy} and changed`);
          else if (getsGradient(key)) assert.ok(!same, `${key} should have trained under --freeze ${policy}`);
        }
        assert.deepEqual(
          [...state.moments.keys()].sort(),
          trained.sort(),
          "AdamW state for exactly the trained parameters",
        );
        for (const key of trained) assert.equal(state.info.adamSteps[key], 2, `${key}: AdamW steps`);
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  );
}
