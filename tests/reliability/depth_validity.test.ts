/**
 * A frame with no valid depth (issue 13, case 9): augment rejects it instead of inventing a surface for its
 * pasted region (it once wrote a 1 m plane), and the run exits 3 with the frame in rejects.jsonl.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readHdf5Dataset, writeDepthHdf5 } from "../../core/io/hdf5.ts";
import { assertUnchanged, copyTree, FIXTURES, hashTree, inTempDir, runTask } from "./helpers.ts";

const FRAME = "ai_900_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg";
const DEPTH = "ai_900_001/images/scene_cam_00_geometry_hdf5/frame.0000.depth_meters.hdf5";

Deno.test("augment rejects a frame whose depth is all NaN rather than invent its pasted depth", async () => {
  await inTempDir(async (dir) => {
    const root = join(dir, "hypersim");
    await copyTree(join(FIXTURES, "hypersim"), root);
    const { shape } = await readHdf5Dataset(join(root, DEPTH));
    await writeDepthHdf5(
      join(root, DEPTH),
      new Float32Array(shape[0] * shape[1]).fill(NaN),
      shape[0],
      shape[1],
    );
    const before = await hashTree(root);
    // Every frame pasted into (no clean frames), so the broken one cannot pass as a copy.
    const recipe = join(dir, "recipe.json");
    await Deno.writeTextFile(recipe, JSON.stringify({ extends: "seed-hypersim-mirror", clean: 0 }));
    const out = join(dir, "set");
    const run = await runTask("augment", [
      ...["--dataset", "hypersim", "--root", root, "--out", out, "--recipe", recipe, "--seed", "1"],
      ...["--workers", "1"],
    ]);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    const rejects = (await Deno.readTextFile(join(out, "rejects.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(rejects.length, 1, JSON.stringify(rejects));
    assert.equal(rejects[0].id, FRAME);
    assert.match(rejects[0].reason, /no valid depth pixel: a pasted surface's depth could only be invented/);
    await assert.rejects(() => Deno.stat(join(out, DEPTH)), Deno.errors.NotFound);
    await assertUnchanged(root, before, "the source dataset");
  });
});
