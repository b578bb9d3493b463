/**
 * Empty work and unusable outputs in predict and eval (issue 13, cases 7 and 8): evaluating a tree that holds
 * none of the named dataset's frames fails instead of reporting "0 of 0"; an --out that is a file, cannot be
 * created, or is the input folder is refused before any model is loaded or image read.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../../core/nn/model/config.ts";
import { saveInitialCheckpoint } from "../../core/nn/model/init_weights.ts";
import { SMALL_MODEL } from "../../core/study/small_model.ts";
import {
  assertOneErrorLine,
  assertUnchanged,
  copyTree,
  FIXTURES,
  hashTree,
  inTempDir,
  runTask,
} from "./helpers.ts";

Deno.test("eval of a tree without the named dataset's frames fails naming the root", async () => {
  await inTempDir(async (dir) => {
    const weights = join(dir, "small.safetensors");
    await saveInitialCheckpoint(weights, parseConfig(SMALL_MODEL, "small"), 1);
    const root = join(FIXTURES, "hypersim");
    const run = await runTask("eval", [
      ...["--weights", weights, "--dataset", "vkitti2", "--root", root, "--out", join(dir, "e")],
      ...["--input-size", "42"],
    ]);
    assertOneErrorLine(run, 1, /empty: .*fixtures\/hypersim: no vkitti2 frames found/);
  });
});

Deno.test("predict and eval refuse an --out that is a file or cannot be made, before any work", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "out.txt");
    await Deno.writeTextFile(file, "keep me\n");
    // No such checkpoint: the --out check must come first for these lines to be about --out.
    const missing = join(dir, "missing.safetensors");
    const image = join(
      FIXTURES,
      "hypersim/ai_900_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg",
    );
    const predict = (out: string) =>
      runTask("predict", ["--weights", missing, "--input", image, "--out", out]);
    const evaluate = (out: string) =>
      runTask("eval", [
        ...[
          "--weights",
          missing,
          "--dataset",
          "hypersim",
          "--root",
          join(FIXTURES, "hypersim"),
          "--out",
          out,
        ],
      ]);
    for (const task of [predict, evaluate]) {
      assertOneErrorLine(await task(file), 2, /--out: .*out\.txt is a file, not a folder/);
      assertOneErrorLine(await task(join(file, "sub")), 1, /--out: cannot create the folder .*out\.txt\/sub/);
      assertOneErrorLine(
        await task("/proc/trompe-out"),
        1,
        /--out: cannot create the folder \/proc\/trompe-out/,
      );
    }
    assert.equal(await Deno.readTextFile(file), "keep me\n");
  });
});

Deno.test("predict refuses an --out inside its input folder, which the next run would read", async () => {
  await inTempDir(async (dir) => {
    const input = join(dir, "images");
    await copyTree(join(FIXTURES, "hypersim/ai_900_001/images/scene_cam_00_final_preview"), input);
    const before = await hashTree(input);
    for (const out of [input, join(input, "depth")]) {
      const run = await runTask("predict", [
        "--weights",
        join(dir, "x.safetensors"),
        "--input",
        input,
        "--out",
        out,
      ]);
      assertOneErrorLine(run, 2, /--out: is (--input itself|inside --input)/);
    }
    await assertUnchanged(input, before, "the input images");
    assert.equal((await hashTree(input)).size, before.size);
  });
});

Deno.test("an integer flag far beyond any size is refused, not taken, and nothing is written", async () => {
  await inTempDir(async (dir) => {
    const out = join(dir, "out");
    const run = await runTask("predict", [
      ...["--weights", join(dir, "x.safetensors"), "--input", join(dir, "x.jpg"), "--out", out],
      ...["--input-size", "1e22"],
    ]);
    assertOneErrorLine(run, 2, /--input-size: "1e22" is too large/);
    await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);
  });
});
