import assert from "node:assert/strict";
import { join } from "node:path";
import {
  distanceToPlanar,
  hypersimCamera,
  listHypersimFrames,
  planarToDistance,
  readHypersimColorTonemapped,
  readHypersimDistance,
  readHypersimOfficialSplit,
  readHypersimSample,
  tonemapHypersim,
  writeHypersimDepth,
} from "../../core/data/hypersim.ts";
import { compactCameraTable, HYPERSIM_CAMERAS, readCameraCsv } from "../../core/data/hypersim_cameras.ts";
import { readHdf5Dataset } from "../../core/io/hdf5.ts";
import { readNpy } from "../../core/io/npy.ts";
import { writePng } from "../../core/io/png.ts";
import { DATA_DIR, FORMATS_DIR, sharedDataTest, sharedTest } from "../shared.ts";

const ROOT = join(FORMATS_DIR, "hypersim");
const TRUTH = join(FORMATS_DIR, "truth/hypersim");
const REAL_DEPTH = join(DATA_DIR, "hypersim/frame.0000.depth_meters.hdf5");

/** Equal as float32 (within one float32 rounding), NaN exactly where the truth has NaN. */
function assertPlanarEqual(actual: Float32Array, truth: Float32Array, what: string) {
  assert.equal(actual.length, truth.length);
  for (let i = 0; i < truth.length; i++) {
    if (Number.isNaN(truth[i]) || Number.isNaN(actual[i])) {
      assert.ok(Number.isNaN(truth[i]) && Number.isNaN(actual[i]), `${what}: NaN mismatch at ${i}`);
    } else {
      assert.ok(
        Math.abs(actual[i] - truth[i]) <= 6e-8 * Math.abs(truth[i]),
        `${what}[${i}]: ${actual[i]} vs ${truth[i]}`,
      );
    }
  }
}

sharedTest(
  "every Hypersim frame lists and reads to the reference planar depth, both conventions",
  async () => {
    const { frames, problems } = await listHypersimFrames(ROOT);
    assert.deepEqual(problems, []);
    assert.deepEqual(frames.map((f) => `${f.scene}/${f.camera}/${f.frame}`), [
      "ai_001_001/cam_00/0000",
      "ai_001_001/cam_00/0001",
      "ai_037_002/cam_00/0000",
    ]);
    for (const frame of frames) {
      for (const planar of ["official", "exact"] as const) {
        const sample = await readHypersimSample(frame, { planar });
        const truth = await readNpy(join(TRUTH, frame.scene, `frame.${frame.frame}.planar_${planar}.npy`));
        assert.deepEqual([sample.height, sample.width], truth.shape);
        assertPlanarEqual(
          sample.depth,
          truth.data as Float32Array,
          `${frame.scene}/${frame.frame} ${planar}`,
        );
        const nan = sample.depth.filter(Number.isNaN).length;
        assert.ok(nan > 0, "every reference frame has a window onto nothing");
        assert.equal(sample.valid.reduce((a, b) => a + b, 0), sample.depth.length - nan);
        assert.equal(sample.rgb.channels, 3);
      }
    }
  },
);

sharedTest("Hypersim's tone map of color.hdf5 matches the reference", async () => {
  const { frames } = await listHypersimFrames(ROOT);
  for (const frame of frames.filter((f) => f.frame === "0000")) {
    const images = join(ROOT, frame.scene, "images");
    const color = await readHdf5Dataset(join(images, "scene_cam_00_final_hdf5/frame.0000.color.hdf5"));
    const ids = await readHdf5Dataset(
      join(images, "scene_cam_00_geometry_hdf5/frame.0000.render_entity_id.hdf5"),
    );
    const mapped = tonemapHypersim(color.data as Float16Array, ids.data as Int32Array);
    const truth = (await readNpy(join(TRUTH, frame.scene, "frame.0000.tonemap_from_hdf5.npy")))
      .data as Float32Array;
    let worst = 0;
    for (let i = 0; i < truth.length; i++) worst = Math.max(worst, Math.abs(mapped[i] - truth[i]));
    assert.ok(worst <= 6e-8, `${frame.scene}: worst difference ${worst}`);
    const rgb = await readHypersimColorTonemapped(frame);
    assert.equal(rgb.data[100], Math.round(truth[100] * 255));
  }
});

sharedDataTest("the real Hypersim depth: official planar values as documented", async () => {
  const { distance, width, height } = await readHypersimDistance(REAL_DEPTH);
  assert.deepEqual([width, height], [1024, 768]);
  const z = distanceToPlanar(distance, width, height, "official");
  const at = (r: number, c: number) => z[r * width + c];
  for (
    const [value, expected] of [[at(0, 0), 5.1047844], [at(384, 512), 7.88281], [at(767, 1023), 2.6632969]]
  ) {
    assert.ok(Math.abs(value - expected) < 5e-7 * expected, `${value} vs ${expected}`);
  }
  const mean = z.reduce((a, b) => a + b, 0) / z.length;
  assert.ok(Math.abs(mean - 5.5500189) < 1e-5, `mean ${mean}`);
});

sharedDataTest(
  "per-scene cameras give the documented exact planar depth (shifted and tilt-shift lenses)",
  async () => {
    const { distance, width, height } = await readHypersimDistance(REAL_DEPTH);
    const cases = [
      ["ai_037_002", [4.8286968, 7.8314855, 2.8048168]],
      ["ai_026_006", [5.5965297, 7.8828105, 2.4075727]],
    ] as const;
    for (const [scene, expected] of cases) {
      const z = distanceToPlanar(distance, width, height, hypersimCamera(scene, "exact"));
      const got = [z[0], z[384 * width + 512], z[767 * width + 1023]];
      got.forEach((v, i) =>
        assert.ok(Math.abs(v - expected[i]) < 5e-7 * expected[i], `${scene}: ${v} vs ${expected[i]}`)
      );
    }
  },
);

sharedDataTest(
  "the shipped camera table is exactly what the generator makes from Hypersim's CSV",
  async () => {
    const csv = join(DATA_DIR, "hypersim/metadata_camera_parameters.csv");
    const shipped = await Deno.readTextFile(
      new URL("../../core/data/hypersim_cameras.json", import.meta.url),
    );
    assert.deepEqual(JSON.parse(shipped), compactCameraTable(await Deno.readTextFile(csv), csv));
    const full = await readCameraCsv(csv);
    assert.equal(HYPERSIM_CAMERAS.size, 482);
    assert.deepEqual(HYPERSIM_CAMERAS.get("ai_026_006")!.slice(7), full.get("ai_026_006")!.slice(7));
  },
);

sharedDataTest("official v1 split: included frames with their partition", async () => {
  const split = await readHypersimOfficialSplit(
    join(DATA_DIR, "hypersim/metadata_images_split_scene_v1.csv"),
  );
  assert.equal(split.get("ai_001_001/cam_00/0000"), "train");
  assert.equal(split.size, 74619);
  const counts = { train: 0, val: 0, test: 0 };
  for (const part of split.values()) counts[part]++;
  assert.ok(counts.train > counts.val && counts.val > 0 && counts.test > 0);
});

Deno.test("planar → distance → float16 HDF5 → planar round-trips to float16 precision", async () => {
  const [width, height] = [40, 30];
  const camera = { M_cam_from_uv: [0.5796, 0, -0.0696, 0, 0.4347, 0.0927, 0, 0.0041, -1.0039] };
  const planar = Float32Array.from({ length: width * height }, (_, i) => 1 + (i % 53) * 0.1);
  planar[7] = NaN;
  const dir = await Deno.makeTempDir();
  const path = join(dir, "frame.0000.depth_meters.hdf5");
  await writeHypersimDepth(path, planar, width, height, camera);
  const { distance } = await readHypersimDistance(path);
  assert.deepEqual(distance, Float16Array.from(planarToDistance(planar, width, height, camera)));
  const back = distanceToPlanar(distance, width, height, camera);
  for (let i = 0; i < planar.length; i++) {
    if (i === 7) assert.ok(Number.isNaN(back[i]));
    else assert.ok(Math.abs(back[i] - planar[i]) <= planar[i] * 2 ** -11 * 1.01, `pixel ${i}`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("depth and RGB of different sizes are a TrompeError naming the depth file", async () => {
  const dir = await Deno.makeTempDir();
  const images = join(dir, "ai_001_001/images");
  const rgbPath = join(images, "scene_cam_00_final_preview/frame.0000.tonemap.jpg");
  const depthPath = join(images, "scene_cam_00_geometry_hdf5/frame.0000.depth_meters.hdf5");
  await writePng(rgbPath, { width: 8, height: 6, channels: 3, data: new Uint8Array(8 * 6 * 3) });
  await writeHypersimDepth(depthPath, new Float32Array(8 * 5).fill(2), 8, 5, "official");
  const { frames } = await listHypersimFrames(dir);
  await assert.rejects(() => readHypersimSample(frames[0], { planar: "official" }), {
    code: "shape-mismatch",
    subject: depthPath,
  });
  await Deno.remove(dir, { recursive: true });
});
