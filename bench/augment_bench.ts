/**
 * Augmentation throughput: samples/s at 1024×768 (Hypersim) and 1242×375 (vKITTI2) per worker count, on
 * synthetic frames written in the real formats (like the peer, ../shared/anchors/peer_augment.py: blurred
 * noise JPEG q95, smooth distance / centimetre depth). `deno bench -A bench/augment_bench.ts`; each bench
 * iteration augments FRAMES frames, so samples/s = FRAMES / (time per iteration).
 */
import { join } from "node:path";
import { writeDepthHdf5 } from "../core/io/hdf5.ts";
import { writeJpeg } from "../core/io/jpeg.ts";
import { writePng } from "../core/io/png.ts";
import { adapterFor, type DatasetName } from "../core/augment/datasets.ts";
import { preset } from "../core/augment/presets.ts";
import { runAugment } from "../core/augment/runner.ts";
import { FORMATS_DIR } from "../tests/shared.ts";

const FRAMES = 8;

/** Smooth colour noise (a few octaves of sines) so JPEG sizes resemble a real frame's. */
function image(width: number, height: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.sin(x / (17 + c) + seed) + Math.sin(y / (11 + c) - seed) + Math.sin((x + y) / 5 + c);
        data[(y * width + x) * 3 + c] = 128 + 40 * v;
      }
    }
  }
  return data;
}

async function makeSet(dataset: DatasetName, dir: string): Promise<void> {
  const [width, height] = dataset === "hypersim" ? [1024, 768] : [1242, 375];
  for (let i = 0; i < FRAMES; i++) {
    const rgb = { width, height, channels: 3 as const, data: image(width, height, i) };
    const depth = new Float32Array(width * height);
    for (let k = 0; k < depth.length; k++) {
      const x = (k % width) - width / 2, y = Math.floor(k / width) - height / 2;
      depth[k] = 7 + 2 * Math.sin(x / 200) + y / 300;
    }
    const n = String(i).padStart(4, "0");
    if (dataset === "hypersim") {
      const base = join(dir, "ai_000_000", "images");
      await writeJpeg(join(base, "scene_cam_00_final_preview", `frame.${n}.tonemap.jpg`), rgb);
      await writeDepthHdf5(
        join(base, "scene_cam_00_geometry_hdf5", `frame.${n}.depth_meters.hdf5`),
        depth,
        height,
        width,
        { gzip: 9 },
      );
    } else {
      const base = join(dir, "Scene01", "clone");
      await writeJpeg(join(base, "frames", "rgb", "Camera_0", `rgb_0${n}.jpg`), rgb);
      const cm = Uint16Array.from(depth, (z) => Math.round(z * 100));
      await writePng(join(base, "frames", "depth", "Camera_0", `depth_0${n}.png`), {
        width,
        height,
        channels: 1,
        data: cm,
      });
      const lines = Array.from({ length: FRAMES }, (_, f) => `${f} 0 725.0087 725.0087 620.5 187.0`);
      await Deno.writeTextFile(
        join(base, "intrinsic.txt"),
        ["frame cameraID K[0,0] K[1,1] K[0,2] K[1,2]", ...lines].join("\n") + "\n",
      );
    }
  }
}

const tmp = await Deno.makeTempDir({ prefix: "trompe-augment-bench-" });
for (const dataset of ["hypersim", "vkitti2"] as const) {
  const root = join(tmp, dataset);
  await makeSet(dataset, root);
  const frames = await adapterFor(dataset).list(root);
  // Pool art at both sizes: the seed recipes paste pool images (vKITTI2's own frames would double the reads).
  const recipe = { ...preset("seed-hypersim-art"), name: "bench" };
  for (const workers of [1, 2]) {
    let run = 0;
    Deno.bench({
      name: `augment ${dataset} ${frames.length} frames, ${workers} worker(s)`,
      group: dataset,
      n: 3,
      warmup: 1,
      async fn() {
        const out = join(tmp, `out-${dataset}-${workers}-${run++}`);
        await runAugment({ dataset, root, out, recipe, seed: 0, art: join(FORMATS_DIR, "art"), frames }, {
          workers,
          shard: [1, 1],
          resume: false,
          version: "bench",
        });
        await Deno.remove(out, { recursive: true });
      },
    });
  }
}
