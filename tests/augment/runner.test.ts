import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join, relative } from "node:path";
import { FORMATS_DIR, sharedTest } from "../shared.ts";
import { adapterFor } from "../../core/data/adapters.ts";
import { DATASET_NAMES, type DatasetName } from "../../core/data/datasets.ts";
import { listHypersimFrames, readHypersimSample } from "../../core/data/hypersim.ts";
import type { Sample } from "../../core/data/sample.ts";
import { listVkitti2Frames, readVkitti2Sample } from "../../core/data/vkitti2.ts";
import { runAugment } from "../../core/augment/runner.ts";
import { preset } from "../../core/augment/presets.ts";
import { augmentFrame, MASK } from "../../core/augment/sample_augment.ts";
import type { JobSettings } from "../../core/augment/job.ts";
import type { Sources } from "../../core/augment/sources.ts";

const ART = join(FORMATS_DIR, "art");

async function settings(
  dataset: DatasetName,
  out: string,
  root = join(FORMATS_DIR, dataset),
): Promise<JobSettings> {
  const recipe = dataset === "hypersim" ? preset("trompe") : preset("seed-vkitti-art");
  const { frames } = await adapterFor(dataset).list(root);
  return { dataset, root, out, recipe, seed: 5, art: ART, frames };
}

const run = (s: JobSettings, workers: number, shard: [number, number] = [1, 1], resume = false) =>
  runAugment(s, { workers, shard, resume, version: "test" });

/** Every file of a set except run records (which hold timings), as relative path → bytes. */
async function snapshot(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const visit = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) {
        if (relative(dir, p) !== join(".trompe", "runs")) await visit(p);
      } else files.set(relative(dir, p), await Deno.readFile(p));
    }
  };
  await visit(dir);
  return files;
}

function assertSameSet(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): void {
  assertEquals([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) {
    assert(v.length === b.get(k)!.length && v.every((x, i) => x === b.get(k)![i]), `${k} differs`);
  }
}

for (const dataset of DATASET_NAMES) {
  sharedTest(
    `augment ${dataset}: --workers 1 and 2, and shards 1/2 + 2/2, give identical bytes`,
    async () => {
      const tmp = await Deno.makeTempDir();
      try {
        const one = await settings(dataset, join(tmp, "one"));
        const summary = await run(one, 1);
        assertEquals(summary.completed, one.frames.length);
        const two = await settings(dataset, join(tmp, "two"));
        await run(two, 2);
        const sharded = await settings(dataset, join(tmp, "sharded"));
        await run(sharded, 1, [2, 2]);
        await run(sharded, 2, [1, 2]);
        const reference = await snapshot(one.out);
        assert(
          reference.has("manifest.jsonl") && reference.has("splits/train.txt") &&
            reference.has("recipe.json"),
        );
        assertSameSet(reference, await snapshot(two.out));
        assertSameSet(reference, await snapshot(sharded.out));
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  );

  sharedTest(`augment ${dataset}: a killed run resumed equals an uninterrupted one`, async () => {
    const tmp = await Deno.makeTempDir();
    try {
      const full = await settings(dataset, join(tmp, "full"));
      await run(full, 1);
      const killed = await settings(dataset, join(tmp, "killed"));
      await run(killed, 1);
      // A kill mid-frame: the frame's record and depth are gone, a half-written temporary is left behind.
      // Resumed more than a second later, so a time stamped into any file would show.
      const victim = killed.frames[1];
      await Deno.remove(join(killed.out, ".trompe", "records", victim.rgb + ".json"));
      await Deno.remove(join(killed.out, victim.depth));
      await Deno.writeFile(join(killed.out, victim.depth + ".tmp-999-1"), new Uint8Array(10));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const summary = await run(killed, 2, [1, 1], true);
      assertEquals([summary.processed, summary.skipped, summary.staleRemoved], [
        1,
        killed.frames.length - 1,
        1,
      ]);
      assertSameSet(await snapshot(full.out), await snapshot(killed.out));
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  });
}

sharedTest("augment: a corrupt input lands in rejects.jsonl and the run goes on", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const root = join(tmp, "src");
    await copyTree(join(FORMATS_DIR, "hypersim"), root);
    const s = await settings("hypersim", join(tmp, "out"), root);
    const bad = s.frames[0];
    const jpeg = await Deno.readFile(join(root, bad.rgb));
    await Deno.writeFile(join(root, bad.rgb), jpeg.subarray(0, 200));
    const summary = await run(s, 2);
    assertEquals([summary.rejectedNow, summary.processed], [1, s.frames.length - 1]);
    const rejects = (await Deno.readTextFile(join(s.out, "rejects.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assertEquals(rejects.length, 1);
    assertEquals(rejects[0].rgb, bad.rgb);
    assert(rejects[0].reason.length > 0);
    assertEquals(
      (await Deno.readTextFile(join(s.out, "manifest.jsonl"))).trim().split("\n").length,
      s.frames.length - 1,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

const poolOf = async (): Promise<Sources> => {
  const { readImageRgb } = await import("../../core/io/image.ts");
  const rgb = await readImageRgb(join(ART, "art_00.jpg"));
  return {
    poolSize: 1,
    pool: () => Promise.resolve({ name: "art_00.jpg", rgb }),
    frameCount: 0,
    frame: () => Promise.reject(),
  };
};

/** The frame of `root` whose RGB path ends in `rgb`, read by core/data's own listing and reader. */
async function readBack(dataset: DatasetName, root: string, rgb: string): Promise<Sample> {
  if (dataset === "hypersim") {
    const frame = (await listHypersimFrames(root)).frames.find((f) => f.rgbPath === join(root, rgb))!;
    return readHypersimSample(frame, { planar: "official" });
  }
  const frame = (await listVkitti2Frames(root)).frames.find((f) => f.rgbPath === join(root, rgb))!;
  return readVkitti2Sample(frame);
}

for (const dataset of DATASET_NAMES) {
  sharedTest(
    `augment: ${dataset} outputs read back through core/data with the depth written (format quantisation only)`,
    async () => {
      const tmp = await Deno.makeTempDir();
      try {
        const adapter = adapterFor(dataset);
        const root = join(FORMATS_DIR, dataset);
        const ref = (await adapter.list(root)).frames[0];
        const frame = await readBack(dataset, root, ref.rgb);
        const recipe = { ...preset("trompe"), clean: 0 };
        const aug = await augmentFrame({ ...frame, id: ref.rgb, index: 0 }, recipe, 2, await poolOf());
        await adapter.write(tmp, ref, aug);
        await adapter.copyExtras(root, tmp, ref);
        const back = await readBack(dataset, tmp, ref.rgb);
        let inside = 0;
        for (let k = 0; k < aug.mask.length; k++) {
          if (aug.mask[k] === MASK.untouched || aug.mask[k] === MASK.negative) {
            // Stored values round-trip: bit-identical after reading (NaN stays NaN).
            assert(Object.is(back.depth[k], frame.depth[k]), `outside mask at ${k}`);
            continue;
          }
          inside++;
          const err = Math.abs(back.depth[k] - aug.depth[k]);
          // float16 distances: half an ulp is 2^-11 relative; centimetres: half a centimetre.
          const tol = dataset === "hypersim" ? aug.depth[k] * 2 ** -11 * 1.01 : 0.005 + 1e-6;
          assert(err <= tol, `inside mask at ${k}: wrote ${aug.depth[k]}, read ${back.depth[k]}`);
          assertEquals(back.valid[k], 1);
        }
        assert(inside > 0);
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  );
}

sharedTest("augment vkitti2: a 0 cm depth outside the mask is written back as 0 cm, not as sky", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const adapter = adapterFor("vkitti2");
    const root = join(FORMATS_DIR, "vkitti2");
    const ref = (await adapter.list(root)).frames[0];
    const frame = await readBack("vkitti2", root, ref.rgb);
    // Something touching the lens: every 97th pixel at 0 cm, valid as the reader makes it.
    const depth = frame.depth.slice(), valid = frame.valid.slice();
    for (let k = 0; k < depth.length; k += 97) (depth[k] = 0), (valid[k] = 1);
    const recipe = { ...preset("trompe"), clean: 0 };
    const aug = await augmentFrame(
      { ...frame, depth, valid, id: ref.rgb, index: 0 },
      recipe,
      2,
      await poolOf(),
    );
    await adapter.write(tmp, ref, aug);
    await adapter.copyExtras(root, tmp, ref);
    const back = await readBack("vkitti2", tmp, ref.rgb);
    let zeros = 0;
    for (let k = 0; k < depth.length; k += 97) {
      if (aug.mask[k] !== MASK.untouched) continue;
      assertEquals([back.depth[k], back.valid[k]], [0, 1], `pixel ${k}`);
      zeros++;
    }
    assert(zeros > 1000, `${zeros} zero-depth pixels checked`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
