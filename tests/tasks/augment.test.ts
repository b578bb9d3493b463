/**
 * `deno task augment` from the command line on trompe's committed Hypersim fixtures, with the mirror-only
 * preset (it needs no art folder): the same seed gives the same bytes on 1 and 2 workers and another seed
 * other bytes; the set keeps the source layout with a mask per frame; outside the pasted regions the depth
 * is the source's, bit for bit, and inside it was rewritten; the split files cover every frame once, on the
 * side the manifest records; bad flags are one line (exit 2), an unknown recipe too (exit 1).
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { readHdf5Dataset } from "../../core/io/hdf5.ts";
import { decodePng } from "../../core/io/png.ts";
import { preset } from "../../core/augment/presets.ts";
import { runTaskFile } from "../shared.ts";

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures/hypersim");
const RECIPE = "seed-hypersim-mirror";

async function augment(out: string, seed: number, workers: number) {
  return await runTaskFile("augment", [
    ...["--dataset", "hypersim", "--root", FIXTURES, "--out", out],
    ...["--recipe", RECIPE, "--seed", String(seed), "--workers", String(workers)],
  ]);
}

/** Every file under `root` (relative path → bytes), but the run record, which holds timings. */
async function tree(root: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name), name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path, name);
      else if (!name.endsWith(".run.json")) files.set(name, await Deno.readFile(path));
    }
  };
  await walk(root, "");
  return files;
}

Deno.test("deno task augment: same seed same bytes on 1 and 2 workers, another seed other bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-augment-" });
  try {
    const runs = [[1, 1], [1, 2], [2, 1]].map(([seed, workers]) => ({
      seed,
      workers,
      out: join(dir, `s${seed}w${workers}`),
    }));
    for (const { seed, workers, out } of runs) {
      const run = await augment(out, seed, workers);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /done: 6 augmented, 0 rejected/);
    }
    const [one, two, other] = await Promise.all(runs.map((r) => tree(r.out)));
    assert.deepEqual([...two.keys()].sort(), [...one.keys()].sort());
    for (const [name, bytes] of one) {
      assert.deepEqual(two.get(name), bytes, `${name} differs between 1 and 2 workers`);
    }
    const masks = [...one.keys()].filter((n) => n.startsWith("masks/"));
    assert.ok(
      masks.some((n) => !other.get(n)!.every((v, i) => v === one.get(n)![i])),
      "seed 2 pasted the same",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task augment: masks, depth kept outside the pasted region and rewritten inside, splits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-augment-" });
  try {
    const out = join(dir, "set");
    const run = await augment(out, 1, 1);
    assert.equal(run.code, 0, run.stderr);
    const manifest = (await Deno.readTextFile(join(out, "manifest.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(manifest.length, 6);
    const record = JSON.parse(await Deno.readTextFile(join(out, "recipe.json")));
    assert.deepEqual(record.recipe, preset(RECIPE), "recipe.json holds the resolved preset");
    assert.equal(record.seed, 1);
    let pasted = 0;
    for (const entry of manifest) {
      const mask = decodePng(await Deno.readFile(join(out, entry.output.mask)), entry.output.mask);
      const source = await readHdf5Dataset(entry.source.depth);
      const written = await readHdf5Dataset(join(out, entry.output.depth));
      assert.deepEqual(written.shape, source.shape);
      assert.deepEqual([mask.width, mask.height], [source.shape[1], source.shape[0]]);
      let inside = 0, changedInside = 0;
      for (let i = 0; i < mask.data.length; i++) {
        const m = mask.data[i];
        assert.ok(m === 0 || m === 1, `${entry.output.mask}: label ${m} in a mirror-only set`);
        const a = Number(source.data[i]), b = Number(written.data[i]);
        if (m === 0) assert.ok(Object.is(a, b), `${entry.output.depth}: pixel ${i} outside the mask changed`);
        else {
          inside++;
          if (!Object.is(a, b)) changedInside++;
        }
      }
      if (inside > 0) {
        pasted++;
        // The mirror's surface is flat: its depth is rewritten (a pixel may coincide with the old depth).
        assert.ok(
          changedInside > 0.5 * inside,
          `${entry.output.depth}: ${changedInside} of ${inside} rewritten`,
        );
      }
    }
    assert.ok(pasted >= 4, `${pasted} of 6 frames got a mirror`);

    const lines = async (side: string) =>
      (await Deno.readTextFile(join(out, "splits", `${side}.txt`))).trim().split("\n");
    const [train, val] = [await lines("train"), await lines("val")];
    const sides = new Map(manifest.map((e) => [`${e.output.rgb} ${e.output.depth}`, e.split]));
    assert.equal(train.length + val.length, 6);
    for (const line of train) assert.equal(sides.get(line), "train", line);
    for (const line of val) assert.equal(sides.get(line), "val", line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task augment: bad flags and an unknown recipe are one line naming them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-augment-" });
  try {
    const base = ["--dataset", "hypersim", "--root", FIXTURES];
    for (
      const [args, code, message] of [
        [[...base, "--recipe", RECIPE], 2, /^error: bad-argument: --out: is required/],
        [
          [...base, "--out", join(dir, "b"), "--recipe", RECIPE, "--shard", "3/2"],
          2,
          /^error: bad-argument: .*--shard/,
        ],
        [
          [...base, "--out", join(dir, "c"), "--recipe", RECIPE, "--colour", "red"],
          2,
          /--colour: unknown option/,
        ],
        [
          [...base, "--out", join(dir, "a"), "--recipe", "no-such-preset"],
          1,
          /no-such-preset: no such preset or file/,
        ],
      ] as const
    ) {
      const run = await runTaskFile("augment", [...args]);
      assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0], message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
