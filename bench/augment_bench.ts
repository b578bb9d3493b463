/**
 * Augmentation throughput: samples/s at 1024×768 (Hypersim) and 1242×375 (vKITTI2) per worker count, on
 * synthetic frames written in the real formats, and the Python peer (../shared/anchors/peer_augment.py: the
 * seed recipe in OpenCV + h5py, one process) measured in the same run, as a ratio per core.
 *
 *   deno run -A bench/augment_bench.ts [--frames N] [--workers 1,2] [--save]
 *
 * A sample is the whole job: read RGB + depth, augment, write JPEG q95 + depth + mask + record. `--save`
 * writes bench/results/augment-<date>.{json,md}.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adapterFor, type DatasetName } from "../core/augment/datasets.ts";
import { preset } from "../core/augment/presets.ts";
import { runAugment } from "../core/augment/runner.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import { writeDepthHdf5 } from "../core/io/hdf5.ts";
import { writeJpeg } from "../core/io/jpeg.ts";
import { writePng } from "../core/io/png.ts";
import { TROMPE_VERSION } from "../core/version.ts";
import { FORMATS_DIR, SHARED_DIR } from "../tests/shared.ts";

const SIZES = { hypersim: [1024, 768], vkitti2: [1242, 375] } as const;

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

/** A tree in the dataset's layout, written as the dataset is (Hypersim depth gzip 9, as its files are). */
async function makeSet(dataset: DatasetName, dir: string, frames: number): Promise<void> {
  const [width, height] = SIZES[dataset];
  for (let i = 0; i < frames; i++) {
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
      const path = join(base, "scene_cam_00_geometry_hdf5", `frame.${n}.depth_meters.hdf5`);
      await writeDepthHdf5(path, depth, height, width, { gzip: 9 });
    } else {
      const base = join(dir, "Scene01", "clone");
      await writeJpeg(join(base, "frames", "rgb", "Camera_0", `rgb_0${n}.jpg`), rgb);
      const cm = Uint16Array.from(depth, (z) => Math.round(z * 100));
      const path = join(base, "frames", "depth", "Camera_0", `depth_0${n}.png`);
      await writePng(path, { width, height, channels: 1, data: cm });
      const lines = Array.from({ length: frames }, (_, f) => `${f} 0 725.0087 725.0087 620.5 187.0`);
      await Deno.writeTextFile(
        join(base, "intrinsic.txt"),
        ["frame cameraID K[0,0] K[1,1] K[0,2] K[1,2]", ...lines].join("\n") + "\n",
      );
    }
  }
}

/** The peer's samples/s, or why it was not measured (it needs python3 with OpenCV and h5py). */
async function peer(frames: number): Promise<{ samplesPerS: number; python: string } | { skipped: string }> {
  const script = join(SHARED_DIR, "anchors", "peer_augment.py");
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = await new Deno.Command(python, { args: ["-c", "import cv2, h5py"], stderr: "null" })
      .output().catch(() => null);
    if (!probe?.success) continue;
    const out = await new Deno.Command(python, { args: [script, join(FORMATS_DIR, "art"), String(frames)] })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    const m = /([\d.]+) samples\/s/.exec(text);
    if (!out.success || !m) return { skipped: `peer failed: ${new TextDecoder().decode(out.stderr).trim()}` };
    return { samplesPerS: Number(m[1]), python };
  }
  return { skipped: "no python3 with cv2 and h5py (apt-get install python3-opencv python3-h5py)" };
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    frames: { type: "string", default: "16" },
    workers: { type: "string", default: "1,2" },
    save: { type: "boolean" },
  },
});
const frames = Number(values.frames);
const workerCounts = values.workers!.split(",").map(Number);
const recipe = { ...preset("seed-hypersim-art"), name: "bench" };
const tmp = await Deno.makeTempDir({ prefix: "trompe-augment-bench-" });
const rows: {
  dataset: DatasetName;
  size: string;
  workers: number;
  samplesPerS: number;
  msPerSample: number;
}[] = [];
try {
  for (const dataset of ["hypersim", "vkitti2"] as const) {
    const root = join(tmp, dataset);
    await makeSet(dataset, root, frames);
    const { frames: refs } = await adapterFor(dataset).list(root);
    for (const workers of workerCounts) {
      const out = join(tmp, `out-${dataset}-${workers}`);
      const settings = { dataset, root, out, recipe, seed: 0, art: join(FORMATS_DIR, "art"), frames: refs };
      // Worker start-up (module load, wasm compile) is part of a run, as for a user; the set is large enough
      // that it is a small share.
      const summary = await runAugment(settings, { workers, shard: [1, 1], resume: false, version: "bench" });
      const samplesPerS = summary.processed / summary.elapsedS;
      rows.push({
        dataset,
        size: SIZES[dataset].join("×"),
        workers,
        samplesPerS,
        msPerSample: (1000 * workers) / samplesPerS,
      });
      await Deno.remove(out, { recursive: true });
    }
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
const peerResult = await peer(frames);
const peerRate = "samplesPerS" in peerResult ? peerResult.samplesPerS : undefined;

const lines = [
  `augment throughput, trompe ${TROMPE_VERSION}, ${frames} frames per set, ${navigator.hardwareConcurrency} CPUs, ` +
  `${new Date().toISOString().slice(0, 10)}`,
  "",
  "| set | size | workers | samples/s | ms/sample/worker | per core vs peer |",
  "|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.dataset} | ${r.size} | ${r.workers} | ${r.samplesPerS.toFixed(2)} | ${
      r.msPerSample.toFixed(0)
    } | ${peerRate ? `${(r.samplesPerS / r.workers / peerRate).toFixed(2)}×` : "–"} |`
  ),
  "",
  peerRate
    ? `peer (peer_augment.py, Python + OpenCV + h5py, 1 process, 1024×768): ${peerRate.toFixed(2)} samples/s`
    : `peer not measured: ${"skipped" in peerResult ? peerResult.skipped : ""}`,
];
console.log(lines.join("\n"));
if (values.save) {
  const stem = join(import.meta.dirname!, "results", `augment-${new Date().toISOString().slice(0, 10)}`);
  await writeTextFileAtomic(`${stem}.md`, lines.join("\n") + "\n");
  await writeTextFileAtomic(
    `${stem}.json`,
    JSON.stringify(
      { trompe: TROMPE_VERSION, frames, cpus: navigator.hardwareConcurrency, rows, peer: peerResult },
      null,
      2,
    ) +
      "\n",
  );
}
