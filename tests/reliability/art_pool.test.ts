/**
 * The --art pool (issue 13, case 10): checked when it is opened, so a broken art file is named once, before
 * any frame, instead of failing the good frames that drew it; an empty folder is called empty.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertOneErrorLine, copyTree, FIXTURES, inTempDir, runTask } from "./helpers.ts";

const HYPERSIM = join(FIXTURES, "hypersim");

function augmentWithArt(art: string, out: string) {
  return runTask("augment", [
    ...["--dataset", "hypersim", "--root", HYPERSIM, "--out", out, "--art", art],
    ...["--recipe", "seed-hypersim-art", "--seed", "1", "--workers", "1"],
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
