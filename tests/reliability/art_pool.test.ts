/**
 * The --art pool (issue 13, case 10), of augment and probe alike: checked when it is opened, so a broken art
 * file is named once, before any frame or model, instead of failing the good frames that drew it; an empty
 * folder is called empty.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertOneErrorLine,
  assertUnchanged,
  copyTree,
  FIXTURES,
  hashTree,
  inTempDir,
  runTask,
} from "./helpers.ts";

const HYPERSIM = join(FIXTURES, "hypersim");

function augmentWithArt(art: string, out: string) {
  return runTask("augment", [
    ...["--dataset", "hypersim", "--root", HYPERSIM, "--out", out, "--art", art],
    ...["--recipe", "seed-hypersim-art", "--seed", "1", "--workers", "1"],
  ]);
}

function probeWithArt(art: string, out: string) {
  return runTask("probe", [
    ...["--weights", join(FIXTURES, "study_base/base.safetensors"), "--root", HYPERSIM, "--art", art],
    ...["--out", out, "--sizes", "0.1", "--levels", "1", "--limit", "1", "--input-size", "42"],
  ]);
}

async function entries(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
}

Deno.test("augment: an empty --art folder is called empty, and nothing is written", async () => {
  await inTempDir(async (dir) => {
    const art = join(dir, "art");
    await Deno.mkdir(art);
    await Deno.writeTextFile(join(art, "README.txt"), "pictures go here\n");
    const run = await augmentWithArt(art, join(dir, "set"));
    assertOneErrorLine(run, 1, /empty: .*\/art: the art folder holds no JPEG or PNG image/);
    assert.deepEqual(await entries(join(dir, "set")), []);
  });
});

Deno.test("augment: a broken art image is named when the pool opens, before any frame", async () => {
  await inTempDir(async (dir) => {
    const art = join(dir, "art");
    await copyTree(join(HYPERSIM, "ai_900_002/images/scene_cam_00_final_preview"), art);
    const broken = join(art, "frame.0001.tonemap.jpg");
    await Deno.truncate(broken, 300);
    const run = await augmentWithArt(art, join(dir, "set"));
    assertOneErrorLine(
      run,
      1,
      /truncated: .*art\/frame\.0001\.tonemap\.jpg: art image JPEG ends before its end-of-image marker/,
    );
    assert.deepEqual(await entries(join(dir, "set")), []);
  });
});

Deno.test("probe: an empty --art folder is called empty, before any model opens", async () => {
  await inTempDir(async (dir) => {
    const art = join(dir, "art");
    await Deno.mkdir(art);
    await Deno.writeTextFile(join(art, "README.txt"), "pictures go here\n");
    const run = await probeWithArt(art, join(dir, "probe"));
    assertOneErrorLine(run, 1, /empty: .*\/art: the art folder holds no JPEG or PNG image and no Hypersim/);
    assert.doesNotMatch(run.stdout, /base\.safetensors/, "a model was opened first");
    await assert.rejects(() => Deno.stat(join(dir, "probe")), Deno.errors.NotFound);
  });
});

Deno.test("probe: a broken art image is named when the art opens, before any model", async () => {
  await inTempDir(async (dir) => {
    const art = join(dir, "art");
    await copyTree(join(HYPERSIM, "ai_900_002/images/scene_cam_00_final_preview"), art);
    await Deno.truncate(join(art, "frame.0001.tonemap.jpg"), 300);
    const before = await hashTree(art);
    const run = await probeWithArt(art, join(dir, "probe"));
    assertOneErrorLine(
      run,
      1,
      /truncated: .*art\/frame\.0001\.tonemap\.jpg: art image JPEG ends before its end-of-image marker/,
    );
    assert.doesNotMatch(run.stdout, /base\.safetensors/, "a model was opened first");
    await assert.rejects(() => Deno.stat(join(dir, "probe")), Deno.errors.NotFound);
    await assertUnchanged(art, before, "the art folder");
  });
});
