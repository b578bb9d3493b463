/**
 * The committed base model (fixtures/study_base) loads and, on the first held-out study frames — rendered here
 * from their seed, as fixtures/study_base/make.sh renders them — reproduces the metrics recorded beside it.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { writeHypersimFixtures } from "../../core/data/fixtures/write.ts";
import { openEstimator } from "../../core/nn/open_estimator.ts";
import { runEvaluation } from "../../core/eval/run.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";

const BASE = new URL("../../fixtures/study_base/", import.meta.url).pathname;

interface Recorded {
  readonly check: {
    readonly frames: number;
    readonly framesPerScene: number;
    readonly seed: number;
    readonly inputSize: number;
    readonly abs_rel: number;
    readonly d1: number;
    readonly rmse: number;
  };
}

Deno.test("the committed base model reproduces its recorded metrics on held-out study frames", async () => {
  const recorded: Recorded = JSON.parse(await Deno.readTextFile(join(BASE, "metrics.json")));
  const weights = join(BASE, "base.safetensors");
  const file = await readSafetensors(weights);
  assert((await Deno.stat(weights)).size <= 20 * 2 ** 20, "the committed model must stay under 20 MB");
  for (const name of file.names()) assertEquals(file.entry(name).dtype, "F16", name);
  // The committed model's shape is config.json's (the stored config adds the defaults it implies).
  const stored = JSON.parse(file.metadata["trompe.config"]);
  for (const [key, value] of Object.entries(JSON.parse(await Deno.readTextFile(join(BASE, "config.json"))))) {
    assertEquals(stored[key], value, key);
  }

  const tmp = await Deno.makeTempDir();
  try {
    const { check } = recorded;
    const root = join(tmp, "heldout");
    await writeHypersimFixtures(root, {
      count: check.frames,
      width: 256,
      height: 192,
      seed: check.seed,
      framesPerScene: check.framesPerScene,
      style: "study",
      part: "heldout",
      workers: 1,
    });
    const opened = await openEstimator({
      engine: "webgpu",
      path: weights,
      name: "base",
      inputSize: check.inputSize,
    });
    try {
      const summary = await runEvaluation({
        dataset: "hypersim",
        root,
        split: join(root, "splits", "val.txt"),
        out: join(tmp, "eval"),
        estimators: [opened.estimator],
        sheet: 0,
      });
      assertEquals(summary.images.evaluated, check.frames);
      const mean = summary.models[0].official.mean!;
      // Recorded through `deno task eval` on lavapipe; another adapter's float32 rounding moves the last digits.
      for (const key of ["abs_rel", "d1", "rmse"] as const) {
        const want = check[key], got = mean[key]!;
        assert(Math.abs(got - want) <= 1e-3 * Math.abs(want) + 1e-6, `${key}: ${got}, recorded ${want}`);
      }
    } finally {
      opened.estimator.dispose?.();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
