/**
 * The augmented set's train/val split: the source's split kept, whole scenes otherwise (the same for every
 * seed), and no content crossing from one side to the other.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join, resolve } from "node:path";
import { DATA_DIR, sharedDataTest } from "../shared.ts";
import { DATASET_NAMES, type DatasetName } from "../../core/data/datasets.ts";
import type { ManifestRecord } from "../../core/augment/job.ts";
import type { FrameRef } from "../../core/data/frame_paths.ts";
import { preset } from "../../core/augment/presets.ts";
import { parseRecipe, type Recipe } from "../../core/augment/recipe.ts";
import { runAugment } from "../../core/augment/runner.ts";
import { chooseArt, type FrameContent, type Sources } from "../../core/augment/sources.ts";
import {
  listWithSplit,
  planByScene,
  sceneOf,
  type SplitPlan,
  type SplitSpec,
} from "../../core/augment/split.ts";
import { TrompeError } from "../../core/errors.ts";
import { Rng } from "../../core/rng.ts";

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures");
const root = (dataset: DatasetName) => join(FIXTURES, dataset);
const sourceSplit = (dataset: DatasetName) => ({
  by: "files" as const,
  train: join(root(dataset), "splits", "train.txt"),
  val: join(root(dataset), "splits", "val.txt"),
});

/** The RGB paths a split file lists. */
async function listed(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "").map((l) => l.split(" ")[0]);
}

/** Dataset art for every frame: the recipes whose content could leak from one side to the other. */
function datasetArt(dataset: DatasetName): Recipe {
  if (dataset === "vkitti2") return preset("seed-vkitti-art");
  const trompe = preset("trompe");
  return parseRecipe(
    { ...trompe, clean: 0, kinds: { mirror: 0, art: 1 }, art: { source: "dataset" } },
    "test",
  );
}

async function augment(dataset: DatasetName, out: string, spec: SplitSpec, seed = 5) {
  const { frames, plan } = await listWithSplit(dataset, root(dataset), spec);
  const summary = await runAugment(
    { dataset, root: root(dataset), out, recipe: datasetArt(dataset), seed, frames, split: plan },
    { workers: 2, shard: [1, 1], resume: false, version: "test" },
  );
  const manifest = (await Deno.readTextFile(join(out, "manifest.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l) as ManifestRecord);
  return { frames, plan, summary, manifest };
}

for (const dataset of DATASET_NAMES) {
  Deno.test(`split ${dataset}: the source's split files are kept, and no frame's art comes from the other side`, async () => {
    const tmp = await Deno.makeTempDir();
    try {
      const spec = sourceSplit(dataset);
      const { summary, manifest } = await augment(dataset, tmp, spec);
      const train = await listed(spec.train);
      const val = await listed(spec.val);
      assert(train.length > 0 && val.length > 0);
      assertEquals(summary.completed, train.length + val.length);
      // Every frame on its source side, in the set's split files and in its manifest record.
      assertEquals((await listed(join(tmp, "splits", "train.txt"))).sort(), [...train].sort());
      assertEquals((await listed(join(tmp, "splits", "val.txt"))).sort(), [...val].sort());
      const side = new Map<string, string>([
        ...train.map((r) => [r, "train"] as const),
        ...val.map((r) => [r, "val"] as const),
      ]);
      const crossings: string[] = [];
      const fromFrames = { train: 0, val: 0 };
      for (const record of manifest) {
        assertEquals(record.split, side.get(record.id), record.id);
        for (const region of record.regions) {
          if (region.source?.type !== "frame") continue;
          fromFrames[record.split]++;
          assert(side.has(region.source.name), `${region.source.name} is a frame of the set`);
          assert(region.source.name !== record.id);
          if (side.get(region.source.name) !== record.split) {
            crossings.push(`${region.source.name} (${side.get(region.source.name)}) → ${record.id}`);
          }
        }
      }
      assertEquals(crossings, [], "content crossed the split");
      // Not vacuous: frames of both sides did take art cut from other frames.
      assert(fromFrames.train > 0 && fromFrames.val > 0, JSON.stringify(fromFrames));
      const recipeJson = JSON.parse(await Deno.readTextFile(join(tmp, "recipe.json")));
      assertEquals(recipeJson.split.spec, spec);
      assertEquals([recipeJson.split.train, recipeJson.split.val], [train.length, val.length]);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  });
}

Deno.test("split by scene: whole scenes, the same ones held out whatever the seed", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const a = await augment("hypersim", join(tmp, "a"), { by: "scene" }, 1);
    const b = await augment("hypersim", join(tmp, "b"), { by: "scene" }, 2);
    const files = async (
      dir: string,
    ) => [await listed(join(dir, "splits", "train.txt")), await listed(join(dir, "splits", "val.txt"))];
    const [train, val] = await files(join(tmp, "a"));
    assertEquals(await files(join(tmp, "b")), [train, val], "seed 2 holds out other frames than seed 1");
    // Three scenes of two frames: one scene held out, both its frames.
    const scenes = (rgbs: string[]) => new Set(rgbs.map((r) => sceneOf("hypersim", r)));
    assertEquals([train.length, val.length, scenes(val).size, scenes(train).size], [4, 2, 1, 2]);
    assert([...scenes(val)].every((s) => !scenes(train).has(s)));
    // The seeds did make different sets (so the seed was not simply ignored).
    assert(JSON.stringify(a.manifest) !== JSON.stringify(b.manifest));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("split by scene: a scene's side depends on its name alone, about 20 % held out", () => {
  const refs = (scenes: string[]): FrameRef[] =>
    scenes.flatMap((s) =>
      [0, 1, 2].map((f) => ({
        rgb: `${s}/images/scene_cam_00_final_preview/frame.000${f}.tonemap.jpg`,
        depth: `${s}/images/scene_cam_00_geometry_hdf5/frame.000${f}.depth_meters.hdf5`,
      }))
    ).map((r, index) => ({ index, ...r }));
  const names = Array.from({ length: 300 }, (_, k) => `ai_${String(k).padStart(3, "0")}_001`);
  const sideOf = (plan: SplitPlan, frames: FrameRef[]) => {
    const sides = new Map<string, string>();
    frames.forEach((f, k) => {
      const scene = sceneOf("hypersim", f.rgb), side = plan.sides[k];
      assert(sides.get(scene) === undefined || sides.get(scene) === side, `${scene} on both sides`);
      sides.set(scene, side);
    });
    return sides;
  };
  const all = refs(names);
  const whole = sideOf(planByScene("hypersim", all), all);
  const held = [...whole.values()].filter((s) => s === "val").length;
  assert(held >= 0.14 * names.length && held <= 0.26 * names.length, `${held} of ${names.length} held out`);
  // Half the scenes, listed in reverse: each keeps its side.
  const half = refs(names.filter((_, k) => k % 2 === 0).reverse());
  for (const [scene, side] of sideOf(planByScene("hypersim", half), half)) {
    assertEquals(side, whole.get(scene));
  }
  // vKITTI2 scenes are scene/variation: two variations of one scene are split independently.
  assertEquals(sceneOf("vkitti2", "Scene06/fog/frames/rgb/Camera_0/rgb_00003.jpg"), "Scene06/fog");
});

Deno.test("split: dataset art reads only frames on its own side, for every seed", async () => {
  // Eight frames, odd ones in val; frame i's depth runs 1 → 1 + i m, so screening passes some.
  const art = parseRecipe({ art: { source: "dataset", minDepthRatio: 4, tries: 4 } }, "test").art;
  const val = [1, 3, 5, 7], train = [0, 2, 4, 6];
  const spied = (restricted: boolean) => {
    const reads: number[] = [];
    const sources: Sources = {
      poolSize: 0,
      pool: () => Promise.reject(new Error("no pool")),
      frameCount: 8,
      frame: (i) => {
        reads.push(i);
        const content: FrameContent = {
          name: `frame${i}`,
          rgb: { width: 10, height: 10, channels: 3, data: new Uint8Array(300) },
          depth: Float32Array.from({ length: 100 }, (_, k) => 1 + (i * k) / 99),
          valid: new Uint8Array(100).fill(1),
        };
        return Promise.resolve(content);
      },
      sameSide: restricted ? (i) => (i % 2 ? val : train) : undefined,
    };
    return { sources, reads };
  };
  let crossedUnrestricted = 0;
  for (let seed = 0; seed < 200; seed++) {
    for (const self of [0, 3, 6, 7]) {
      const mine = self % 2 ? val : train;
      const { sources, reads } = spied(true);
      const chosen = await chooseArt(sources, art, self, Rng.derive(seed, self, "art"));
      assert(
        reads.every((i) => mine.includes(i) && i !== self),
        `seed ${seed}, frame ${self}: read ${reads}`,
      );
      assert(chosen.source.name !== `frame${self}`);
      const free = spied(false);
      await chooseArt(free.sources, art, self, Rng.derive(seed, self, "art"));
      if (free.reads.some((i) => !mine.includes(i))) crossedUnrestricted++;
    }
  }
  // Without the split the same draws do cross: the restriction is what keeps them apart.
  assert(crossedUnrestricted > 100, `${crossedUnrestricted} unrestricted choices crossed`);
  // A side of one frame has nothing to paste from: a clear reject, not content from the other side.
  const lonely: Sources = {
    ...spied(true).sources,
    sameSide: (i) => (i === 0 ? [0] : [1, 2, 3, 4, 5, 6, 7]),
  };
  await assert.rejects(
    () => chooseArt(lonely, art, 0, Rng.derive(1, "art")),
    /another frame on this frame's side/,
  );
});

/** A TrompeError about `subject` whose message matches `pattern`. */
async function rejectsWith(fn: () => Promise<unknown>, subject: string, pattern: RegExp) {
  await assert.rejects(fn, (error: unknown) => {
    assert(error instanceof TrompeError, String(error));
    assertEquals(error.subject, subject);
    assert(pattern.test(error.message), error.message);
    return true;
  });
}

Deno.test("split files: a frame on both sides, a frame not in the tree, a repeated line, a wrong depth", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const spec = sourceSplit("vkitti2");
    const trainLines = (await Deno.readTextFile(spec.train)).trim().split("\n");
    const valLines = (await Deno.readTextFile(spec.val)).trim().split("\n");
    const write = async (name: string, lines: string[]) => {
      await Deno.writeTextFile(join(tmp, name), lines.join("\n") + "\n");
      return join(tmp, name);
    };
    const both = await write("both.txt", [...trainLines, valLines[1]]);
    await rejectsWith(
      () => listWithSplit("vkitti2", root("vkitti2"), { by: "files", train: both, val: spec.val }),
      spec.val,
      /line 2: .*rgb_00001\.jpg is also on line 4 of the train split/,
    );
    const stranger = await write("stranger.txt", [
      ...trainLines,
      "Scene09/clone/frames/rgb/Camera_0/rgb_00000.jpg Scene09/clone/frames/depth/Camera_0/depth_00000.png",
    ]);
    await rejectsWith(
      () => listWithSplit("vkitti2", root("vkitti2"), { by: "files", train: stranger }),
      stranger,
      /1 listed frame is not in .*: line 4 \(Scene09/,
    );
    const repeated = await write("repeated.txt", [...trainLines, trainLines[0]]);
    await rejectsWith(
      () => listWithSplit("vkitti2", root("vkitti2"), { by: "files", train: repeated }),
      repeated,
      /line 4 repeats line 1/,
    );
    const [rgb] = trainLines[0].split(" ");
    const swapped = await write("swapped.txt", [`${rgb} ${trainLines[1].split(" ")[1]}`]);
    await rejectsWith(
      () => listWithSplit("vkitti2", root("vkitti2"), { by: "files", train: swapped }),
      swapped,
      /line 1: .*'s depth is .*depth_00000\.png, not .*depth_00001\.png/,
    );
    // One side alone: the set is that side's frames.
    const alone = await listWithSplit("vkitti2", root("vkitti2"), { by: "files", val: spec.val });
    assertEquals([alone.plan.train, alone.plan.val], [0, valLines.length]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("split: a set made with one split refuses frames made with another", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const files = await listWithSplit("vkitti2", root("vkitti2"), {
      by: "files",
      val: sourceSplit("vkitti2").val,
    });
    const recipe = { ...preset("trompe"), clean: 1 };
    const opts = { workers: 1, shard: [1, 1] as [number, number], resume: true, version: "test" };
    const base = { dataset: "vkitti2" as const, root: root("vkitti2"), out: tmp, recipe, seed: 1 };
    await runAugment({ ...base, frames: files.frames, split: files.plan }, opts);
    await rejectsWith(
      () => runAugment({ ...base, frames: files.frames, split: planByScene("vkitti2", files.frames) }, opts),
      tmp,
      /made with another train\/val split/,
    );
    // The same split again is a resume like any other.
    const again = await runAugment({ ...base, frames: files.frames, split: files.plan }, opts);
    assertEquals([again.skipped, again.processed, again.val], [files.frames.length, 0, files.frames.length]);
    // A set whose frames were made before the split was recorded (no split.json beside its records).
    await Deno.remove(join(tmp, ".trompe", "split.json"));
    await rejectsWith(
      () => runAugment({ ...base, frames: files.frames, split: files.plan }, opts),
      tmp,
      /made before trompe recorded its split/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("split csv: Hypersim's scene split, test scenes left out, unknown scenes an error", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const header =
      "scene_name,camera_name,frame_id,included_in_public_release,exclude_reason,split_partition_name";
    const row = (scene: string, frame: number, part: string) => `${scene},cam_00,${frame},True,,${part}`;
    const csv = join(tmp, "split.csv");
    await Deno.writeTextFile(
      csv,
      [header, row("ai_900_001", 0, "val"), row("ai_900_001", 1, "val"), row("ai_900_002", 0, "train")]
        .concat([row("ai_900_003", 0, "test"), "ai_900_002,cam_00,1,False,blurry,"]).join("\n") + "\n",
    );
    const got = await listWithSplit("hypersim", root("hypersim"), { by: "hypersim-csv", csv });
    const sides = Object.fromEntries(got.frames.map((f, k) => [f.rgb.slice(0, 19), got.plan.sides[k]]));
    assertEquals(got.frames.length, 4);
    assertEquals(got.leftOut.length, 2);
    assert(got.leftOut.every((f) => f.rgb.startsWith("ai_900_003/")));
    assertEquals(sides["ai_900_001/images/s"], "val");
    assertEquals(sides["ai_900_002/images/s"], "train");
    await Deno.writeTextFile(csv, [header, row("ai_900_001", 0, "train")].join("\n") + "\n");
    await rejectsWith(
      () => listWithSplit("hypersim", root("hypersim"), { by: "hypersim-csv", csv }),
      csv,
      /2 scenes .* \(4 frames\) not in the split CSV: ai_900_002, ai_900_003/,
    );
    await Deno.writeTextFile(
      csv,
      [header, row("ai_900_001", 0, "train"), row("ai_900_001", 1, "val")].join("\n"),
    );
    await rejectsWith(
      () => listWithSplit("hypersim", root("hypersim"), { by: "hypersim-csv", csv }),
      csv,
      /scene ai_900_001 is in both train and val/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

sharedDataTest("split csv: the official v1 CSV puts both formats scenes in train", async () => {
  const csv = join(DATA_DIR, "hypersim", "metadata_images_split_scene_v1.csv");
  const formats = resolve(DATA_DIR, "..", "formats", "hypersim");
  const got = await listWithSplit("hypersim", formats, { by: "hypersim-csv", csv });
  assertEquals([got.frames.length, got.plan.train, got.plan.val, got.leftOut.length], [3, 3, 0, 0]);
});
