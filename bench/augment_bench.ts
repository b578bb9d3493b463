/**
 * Augmentation throughput: samples/s at 1024×768 (Hypersim) and 1242×375 (vKITTI2) per worker count, on
 * synthetic frames written in the real formats, and the Python peer (../shared/anchors/peer_augment.py: the
 * seed recipe in OpenCV + h5py, one process) measured in the same run, as a ratio per core.
 *
 *   deno run -A bench/augment_bench.ts [--frames N] [--workers 1,2] [--quick] [--save]
 *
 * or through `deno task bench`, which imports `measure`. A sample is the whole job: read RGB + depth, augment,
 * write JPEG q95 + depth + mask + record. `--save` writes bench/results/augment-<date>.{json,md}.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adapterFor } from "../core/data/adapters.ts";
import { DATASET_NAMES, type DatasetName } from "../core/data/datasets.ts";
import { preset } from "../core/augment/presets.ts";
import { runAugment } from "../core/augment/runner.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import { encodeDepthHdf5, writeDepthHdf5 } from "../core/io/hdf5.ts";
import { writeJpeg } from "../core/io/jpeg.ts";
import { writePng } from "../core/io/png.ts";
import { TROMPE_VERSION } from "../core/version.ts";
import { FORMATS_DIR, SHARED_DIR } from "../tests/shared.ts";
import { type BenchOptions, type BenchRow, type BenchSection, median, sectionMarkdown } from "./lib.ts";

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

/** A smooth stand-in for a room's depth: about 4–10 m, curving gently across the frame. */
function syntheticDepth(width: number, height: number): Float32Array {
  const depth = new Float32Array(width * height);
  for (let k = 0; k < depth.length; k++) {
    const x = (k % width) - width / 2, y = Math.floor(k / width) - height / 2;
    depth[k] = 7 + 2 * Math.sin(x / 200) + y / 300;
  }
  return depth;
}

/** A tree in the dataset's layout, written as the dataset is (Hypersim depth gzip 9, as its files are). */
async function makeSet(dataset: DatasetName, dir: string, frames: number): Promise<void> {
  const [width, height] = SIZES[dataset];
  for (let i = 0; i < frames; i++) {
    const rgb = { width, height, channels: 3 as const, data: image(width, height, i) };
    const depth = syntheticDepth(width, height);
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

/** Median ms to encode a 1024×768 float16 depth HDF5 at gzip 4 and at 9, for the note on the peer. */
async function depthWriteMs(): Promise<Record<4 | 9, number>> {
  const [width, height] = SIZES.hypersim;
  const depth = syntheticDepth(width, height);
  // Interleaved, so that a burst of load from elsewhere on the machine falls on both levels alike.
  const times: Record<4 | 9, number[]> = { 4: [], 9: [] };
  for (let i = 0; i < 6; i++) {
    for (const gzip of [4, 9] as const) {
      const t0 = performance.now();
      await encodeDepthHdf5(depth, height, width, { gzip });
      if (i > 0) times[gzip].push(performance.now() - t0); // the first round warms up
    }
  }
  return { 4: median(times[4]), 9: median(times[9]) };
}

interface SetRun {
  /** Steady rate: frames finished after each worker's first one, over the time they took. */
  readonly samplesPerS: number;
  /** Whole run, worker start-up (module loading, wasm compilation) included. */
  readonly overallPerS: number;
  /** From the start of the run to the first finished frame. */
  readonly startupS: number;
}

/**
 * One run of the runner over a set. The steady rate leaves out worker start-up, as the peer's timing leaves
 * out Python's imports: frames finished after the first `workers` ones, over the time since the w-th finished
 * (each worker's later frames all start after its first one ends).
 */
async function runSet(dataset: DatasetName, root: string, out: string, workers: number): Promise<SetRun> {
  const { frames: refs } = await adapterFor(dataset).list(root);
  const recipe = { ...preset("seed-hypersim-art"), name: "bench" };
  const settings = { dataset, root, out, recipe, seed: 0, art: join(FORMATS_DIR, "art"), frames: refs };
  const finished: number[] = [];
  const started = performance.now();
  const summary = await runAugment(settings, {
    workers,
    shard: [1, 1],
    resume: false,
    version: "bench",
    onFrame: () => finished.push(performance.now()),
  });
  await Deno.remove(out, { recursive: true });
  if (summary.rejectedNow > 0) throw new Error(`${summary.rejectedNow} bench frames were rejected`);
  const n = finished.length, w = Math.min(workers, n - 1);
  return {
    samplesPerS: (n - w) / ((finished[n - 1] - finished[w - 1]) / 1000),
    overallPerS: summary.processed / summary.elapsedS,
    startupS: (finished[0] - started) / 1000,
  };
}

export interface AugmentBenchOptions extends BenchOptions {
  /** Frames per set (default 48, 8 when quick). */
  readonly frames?: number;
  /** Worker counts to measure (default 1 and 2). */
  readonly workers?: readonly number[];
}

/**
 * Samples/s per set and worker count, and the peer (one process, 1024×768) measured after them in the same
 * run. The ratio is per core: trompe's samples/s ÷ workers ÷ the peer's; the peer only does 1024×768, so the
 * 1242×375 rows have no ratio.
 */
export async function measure(options: AugmentBenchOptions): Promise<BenchSection> {
  const frames = options.frames ?? (options.quick ? 8 : 48);
  const workerCounts = options.workers ?? [1, 2];
  const load = Deno.loadavg()[0];
  const tmp = await Deno.makeTempDir({ prefix: "trompe-augment-bench-" });
  const measured: ({ dataset: DatasetName; workers: number } & SetRun)[] = [];
  try {
    for (const dataset of DATASET_NAMES) {
      const root = join(tmp, dataset);
      await makeSet(dataset, root, frames);
      for (const workers of workerCounts) {
        const run = await runSet(dataset, root, join(tmp, `out-${dataset}-${workers}`), workers);
        measured.push({ dataset, workers, ...run });
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  const gzipMs = await depthWriteMs();
  const peerResult = await peer(frames);
  const peerRate = "samplesPerS" in peerResult ? peerResult.samplesPerS : undefined;
  const rows: BenchRow[] = measured.map(({ dataset, workers, samplesPerS, overallPerS, startupS }) => {
    const comparable = dataset === "hypersim" && peerRate !== undefined;
    return {
      case: `augment ${dataset} ${SIZES[dataset].join("×")}, ${workers} worker${workers > 1 ? "s" : ""}`,
      trompe: `${samplesPerS.toFixed(2)} samples/s`,
      peer: comparable ? `${peerRate.toFixed(2)} samples/s (peer_augment.py, 1 process)` : undefined,
      ratio: comparable ? samplesPerS / workers / peerRate : undefined,
      note: `${frames} frames, ${(1000 * workers / samplesPerS).toFixed(0)} ms/sample/worker; ` +
        `start-up ${startupS.toFixed(1)} s not counted (whole run ${overallPerS.toFixed(2)} samples/s)` +
        (dataset === "vkitti2" ? "; the peer only does 1024×768" : ""),
    };
  });
  return {
    title: "Augmentation throughput (seed-hypersim-art: read, paste, write JPEG q95 + depth + mask + record)",
    rows,
    details: [
      `${navigator.hardwareConcurrency} CPUs, 1-minute load average ${load.toFixed(2)} at the start` +
      " (other processes on the machine slow both trompe and the peer)",
      "ratio = trompe samples/s ÷ workers ÷ peer samples/s (per core; > 1: trompe faster); both rates leave out" +
      " start-up (trompe's workers loading modules and compiling wasm, the peer's imports and input writing)",
      peerRate !== undefined
        ? `peer: ${"python" in peerResult ? peerResult.python : ""} ${join("anchors", "peer_augment.py")}, ` +
          `Python + OpenCV + h5py, writing depth at gzip 9 as Hypersim's files are; trompe writes gzip 4 ` +
          `(h5py's default; readers do not care): encoding one 1024×768 depth takes ${
            gzipMs[4].toFixed(1)
          } ms ` +
          `at 4, ${
            gzipMs[9].toFixed(1)
          } ms at 9 (medians of 5, interleaved), the difference the peer pays per sample`
        : `peer not measured: ${"skipped" in peerResult ? peerResult.skipped : ""}`,
    ],
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      frames: { type: "string" },
      workers: { type: "string", default: "1,2" },
      quick: { type: "boolean", default: false },
      save: { type: "boolean" },
    },
  });
  const section = await measure({
    quick: values.quick,
    frames: values.frames ? Number(values.frames) : undefined,
    workers: values.workers!.split(",").map(Number),
  });
  const markdown = sectionMarkdown(section);
  console.log(markdown);
  if (values.save) {
    const stem = join(import.meta.dirname!, "results", `augment-${new Date().toISOString().slice(0, 10)}`);
    await writeTextFileAtomic(`${stem}.md`, `# trompe ${TROMPE_VERSION}\n\n${markdown}\n`);
    await writeTextFileAtomic(
      `${stem}.json`,
      JSON.stringify({ trompe: TROMPE_VERSION, ...section }, null, 2) + "\n",
    );
  }
}
