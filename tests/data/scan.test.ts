import assert from "node:assert/strict";
import { join } from "node:path";
import { listHypersimFrames, readHypersimSample } from "../../core/data/hypersim.ts";
import { scanFrames, type ScanProblem } from "../../core/data/scan.ts";
import { FORMATS_DIR, sharedTest } from "../shared.ts";

sharedTest("a scan of a tree with one broken file reports it and summarises the rest", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "ai_001_001"));
  await new Deno.Command("cp", {
    args: ["-r", join(FORMATS_DIR, "hypersim/ai_001_001/images"), join(dir, "ai_001_001")],
  })
    .output();
  const broken = join(dir, "ai_001_001/images/scene_cam_00_geometry_hdf5/frame.0001.depth_meters.hdf5");
  const bytes = await Deno.readFile(broken);
  await Deno.writeFile(broken, bytes.subarray(0, bytes.length >> 1));
  const orphan = join(dir, "ai_001_001/images/scene_cam_00_final_preview/frame.0002.tonemap.jpg");
  await Deno.copyFile(
    join(dir, "ai_001_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg"),
    orphan,
  );

  const { frames, problems } = await listHypersimFrames(dir);
  assert.equal(frames.length, 2);
  const all: ScanProblem[] = [...problems];
  const stats = await scanFrames(frames, (f) => readHypersimSample(f, { planar: "official" }), all);
  assert.deepEqual(stats.map((s) => s.id), ["ai_001_001/cam_00/0000"]);
  assert.deepEqual([stats[0].width, stats[0].height], [256, 192]);
  assert.ok(stats[0].invalid > 0 && stats[0].min > 0 && stats[0].max > stats[0].min);
  assert.deepEqual(all.map((p) => p.path), [orphan, broken]);
  assert.match(all[1].problem, /truncated/);
  await Deno.remove(dir, { recursive: true });
});
