/**
 * Where augment writes (issue 13, cases 2, 3, 7 and 8): never over its own input, never into a folder that is
 * not its own set, never on with settings other than the set was made with, never "done" with nothing done;
 * and an --out it cannot use is said before any work, in plain words.
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

const RECIPE = "seed-hypersim-mirror";

function augment(root: string, out: string, ...more: string[]) {
  return augmentWith({ root, out }, ...more);
}

function augmentWith(
  { root, out, recipe = RECIPE, seed = "1" }: { root: string; out: string; recipe?: string; seed?: string },
  ...more: string[]
) {
  return runTask("augment", [
    ...["--dataset", "hypersim", "--root", root, "--out", out],
    ...["--recipe", recipe, "--seed", seed, "--workers", "1", ...more],
  ]);
}

/** A copy of the Hypersim fixtures to point runs at, so a run that wrote into its root would be caught. */
async function sourceCopy(dir: string): Promise<string> {
  const root = join(dir, "hypersim");
  await copyTree(join(FIXTURES, "hypersim"), root);
  return root;
}

Deno.test("augment refuses --out equal to --root or inside it, and the source stays byte for byte", async () => {
  await inTempDir(async (dir) => {
    const root = await sourceCopy(dir);
    const before = await hashTree(root);
    assertOneErrorLine(await augment(root, root), 2, /--out: is --root itself/);
    assertOneErrorLine(await augment(root, join(root, "flat")), 2, /--out: is inside --root .*hypersim/);
    await assertUnchanged(root, before, "the source dataset");
    assert.equal((await hashTree(root)).size, before.size, "files were added to the source");
  });
});

Deno.test("augment refuses a non-empty folder that is not an augmented set, unless --force", async () => {
  await inTempDir(async (dir) => {
    const out = join(dir, "results");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, "notes.txt"), "my notes\n");
    const before = await hashTree(out);
    assertOneErrorLine(
      await augment(join(FIXTURES, "hypersim"), out),
      2,
      /results: is not empty and is not an augmented set/,
      /--force/,
    );
    assert.deepEqual(await hashTree(out), before);
    const forced = await augment(join(FIXTURES, "hypersim"), out, "--force", "--limit", "1");
    assert.equal(forced.code, 0, forced.stderr);
    await assertUnchanged(out, before, "the folder's own files");
  });
});

Deno.test("augment --resume with another --seed, --recipe or --root is refused naming the setting", async () => {
  await inTempDir(async (dir) => {
    const root = join(FIXTURES, "hypersim");
    const out = join(dir, "flat");
    const first = await augment(root, out, "--limit", "2");
    assert.equal(first.code, 0, first.stderr);
    const before = await hashTree(out);
    const otherRoot = await sourceCopy(dir);
    const changedClean = join(dir, "recipe.json");
    await Deno.writeTextFile(changedClean, JSON.stringify({ extends: RECIPE, name: RECIPE, clean: 0.9 }));
    const cases: [Parameters<typeof augmentWith>[0], RegExp][] = [
      [{ root, out, seed: "2" }, /--seed was 1, now 2/],
      [{ root, out, recipe: "seed-vkitti-art" }, /--recipe was seed-hypersim-mirror, now seed-vkitti-art/],
      [{ root, out, recipe: changedClean }, /--recipe seed-hypersim-mirror differs in clean/],
    ];
    for (const [settings, message] of cases) {
      const run = await augmentWith(settings, "--resume");
      assertOneErrorLine(run, 2, /flat: this set was made with other settings/, message);
    }
    assertOneErrorLine(
      await augment(otherRoot, out, "--resume"),
      2,
      /--root was ".*fixtures\/hypersim", now/,
    );
    await assertUnchanged(out, before, "the set");
    assert.equal((await hashTree(out)).size, before.size, "files were added to the set");
  });
});

Deno.test("augment with nothing to do fails: --limit 0, an empty split", async () => {
  await inTempDir(async (dir) => {
    const root = join(FIXTURES, "hypersim");
    assertOneErrorLine(
      await augment(root, join(dir, "a"), "--limit", "0"),
      2,
      /--limit: "0" is not an integer ≥ 1/,
    );
    const empty = join(dir, "empty.txt");
    await Deno.writeTextFile(empty, "");
    assertOneErrorLine(
      await augment(root, join(dir, "b"), "--split", empty),
      1,
      /empty: .*empty\.txt: no hypersim frames found/,
    );
  });
});

Deno.test("augment says at once when --out is a file or cannot be created, and writes nothing", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "out.txt");
    await Deno.writeTextFile(file, "keep me\n");
    const root = join(FIXTURES, "hypersim");
    assertOneErrorLine(await augment(root, file), 2, /--out: .*out\.txt is a file, not a folder/);
    assert.equal(await Deno.readTextFile(file), "keep me\n");
    assertOneErrorLine(
      await augment(root, join(file, "set")),
      1,
      /--out: cannot create the folder .*out\.txt\/set: /,
    );
    // /proc takes no new folders, even from root, who can write anywhere else.
    assertOneErrorLine(
      await augment(root, "/proc/trompe-out"),
      1,
      /cannot create the folder \/proc\/trompe-out/,
    );
  });
});

Deno.test("a plain rerun into its own set removes what a killed run left half-written", async () => {
  await inTempDir(async (dir) => {
    const out = join(dir, "flat");
    const first = await augment(join(FIXTURES, "hypersim"), out, "--limit", "1");
    assert.equal(first.code, 0, first.stderr);
    const stale = join(out, "manifest.jsonl.tmp-99999-1");
    await Deno.writeTextFile(stale, "half a line");
    const rerun = await augment(join(FIXTURES, "hypersim"), out, "--limit", "1");
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /1 stale temporary files removed/);
    await assert.rejects(() => Deno.stat(stale), Deno.errors.NotFound);
  });
});
