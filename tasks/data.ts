/**
 * `deno task data`: what a dataset tree holds (scenes, frames, resolution, depth range, invalid fraction) and
 * what is wrong with it, optionally with a contact sheet of RGB and colourised depth.
 */
import { choiceFlag, floatFlag, intFlag, parseFlags, requireFlag, stringFlags } from "../core/cli/flags.ts";
import { augmentedSetChecker } from "../core/augment/ground_truth_check.ts";
import { DATASET_ROOT_FLAGS, datasetChoice } from "../core/cli/dataset_flags.ts";
import { MAX_PIXELS_FLAG, maxPixelsHelp } from "../core/cli/max_pixels_flag.ts";
import { runTask } from "../core/cli/main.ts";
import { listHypersimFrames, readHypersimSample } from "../core/data/hypersim.ts";
import type { Sample } from "../core/data/sample.ts";
import { type FrameStats, noFramesError, scanFrames, type ScanProblem } from "../core/data/scan.ts";
import { listVkitti2Frames, readVkitti2Sample } from "../core/data/vkitti2.ts";
import { TrompeError } from "../core/errors.ts";
import { datasetSheet } from "../core/plot/dataset_sheet.ts";
import { writePng } from "../core/io/png.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { dirname, resolve } from "node:path";
import { plural } from "../core/plural.ts";

const HELP =
  `deno task data --dataset hypersim|vkitti2 --root DIR [--preview N --out FILE.png] [--planar official|exact]

Scans a dataset tree: lists its scenes and frames, reads every frame and reports resolution, depth range and
the fraction of invalid pixels, and lists every problem found (a frame without depth, a truncated file, ...)
without stopping at the first. On an augmented set (a root with masks/), each pasted region's ground truth
is checked too: finite and valid, not below the dataset's minimum depth, inside its surround's depth band.

  --dataset NAME    hypersim | vkitti2
  --root DIR        the dataset's root folder
  --planar MODE     Hypersim planar depth: official (Depth Anything V2's loader, default) | exact (scene camera)
  --max-depth M     vKITTI2: depth beyond M metres is invalid (default 80, as the official loader)
  --preview N       also write a contact sheet of the first N frames: per frame its id, size and depth
                    range over its RGB and inverse depth (turbo), with a colour bar in metres
  --out FILE.png    where the contact sheet goes (required with --preview); data.run.json (what was
                    scanned, the frames' statistics and every problem) is written beside it
${maxPixelsHelp(20)}
  --debug           print stack traces
  --help            this text

Exit status: 0 no problem found, 1 error (no frames at all), 2 bad argument, 3 problems found (listed).
`;

async function openDataset(
  name: "hypersim" | "vkitti2",
  root: string,
  planar: "official" | "exact",
  maxDepth: number,
) {
  if (name === "hypersim") {
    const { frames, problems } = await listHypersimFrames(root);
    return { frames, problems, read: (f: (typeof frames)[number]) => readHypersimSample(f, { planar }) };
  }
  const { frames, problems } = await listVkitti2Frames(root);
  return { frames, problems, read: (f: (typeof frames)[number]) => readVkitti2Sample(f, { maxDepth }) };
}

function fmt(n: number, digits = 3): string {
  return Number.isNaN(n) ? "–" : n.toFixed(digits);
}

function report(
  dataset: string,
  frames: readonly { scene: string }[],
  stats: FrameStats[],
  problems: ScanProblem[],
) {
  const scenes = new Map<string, number>();
  for (const f of frames) scenes.set(f.scene, (scenes.get(f.scene) ?? 0) + 1);
  console.log(
    `${dataset}: ${plural(scenes.size, "scene")}, ${plural(frames.length, "frame")} (${stats.length} read)`,
  );
  for (const [scene, count] of scenes) console.log(`  ${scene}: ${plural(count, "frame")}`);
  const sizes = new Set(stats.map((s) => `${s.width}×${s.height}`));
  if (stats.length) {
    const min = Math.min(...stats.map((s) => s.min).filter((v) => !Number.isNaN(v)));
    const max = Math.max(...stats.map((s) => s.max).filter((v) => !Number.isNaN(v)));
    const invalid = stats.reduce((a, s) => a + s.invalid, 0) / stats.length;
    console.log(
      `resolution ${[...sizes].join(", ")}; depth ${fmt(min)}–${fmt(max)} m; invalid ${
        fmt(100 * invalid, 1)
      } %`,
    );
  }
  console.log(`${problems.length} problem${problems.length === 1 ? "" : "s"}`);
  for (const p of problems) console.log(`  ${p.path}: ${p.problem}`);
}

async function main(): Promise<void> {
  const values = parseFlags("data", {
    args: Deno.args,
    options: {
      ...DATASET_ROOT_FLAGS,
      ...stringFlags("planar", "max-depth", "preview", "out"),
      ...MAX_PIXELS_FLAG,
    },
  }, HELP).values;
  if (values.help) return;
  const { dataset } = datasetChoice(values);
  // The tree is read at --root as given, so the frames and problems listed show paths as the user wrote them.
  const root = values.root!;
  const planar = choiceFlag(values.planar, "--planar", ["official", "exact"] as const, "official");
  const maxDepth = floatFlag(values["max-depth"], "--max-depth", 80)!;
  if (!(maxDepth > 0)) throw new TrompeError("bad-argument", "must be positive", { subject: "--max-depth" });
  const preview = intFlag(values.preview, "--preview", 0);
  if (preview > 0) requireFlag(values.out, "--out", "needed with --preview");

  const started = performance.now();
  const { frames, problems, read } = await openDataset(dataset, root, planar, maxDepth);
  if (frames.length === 0) throw noFramesError(dataset, root, problems);
  const readAny = read as (f: (typeof frames)[number]) => Promise<Sample>;
  // An augmented set (it has masks/): each frame's pasted regions are checked as it is read.
  const checkRegions = await augmentedSetChecker(root);
  const readChecked = checkRegions
    ? async (f: (typeof frames)[number]) => {
      const sample = await readAny(f);
      problems.push(...await checkRegions(sample));
      return sample;
    }
    : readAny;
  const stats = await scanFrames(frames, readChecked, problems);
  report(dataset, frames, stats, problems);

  if (preview > 0) {
    const samples: Sample[] = [];
    for (const frame of frames) {
      if (samples.length === preview) break;
      try {
        samples.push(await readAny(frame));
      } catch {
        // already listed among the problems
      }
    }
    if (samples.length === 0) {
      throw new TrompeError("not-found", "no readable frame to preview", { subject: root });
    }
    await writePng(values.out!, datasetSheet(samples).image);
    console.log(`preview of ${plural(samples.length, "frame")}: ${values.out}`);
  }
  if (values.out) {
    const record = await writeRunRecord(dirname(resolve(values.out)), {
      task: "data",
      inputs: { dataset, root: resolve(root) },
      settings: { planar, maxDepth, preview },
      results: { scenes: new Set(frames.map((f) => f.scene)).size, frames: frames.length, stats, problems },
      timings: { seconds: (performance.now() - started) / 1000 },
      failures: problems.length,
    });
    console.log(`run record: ${record}`);
  }
  if (problems.length > 0) Deno.exitCode = 3;
}

if (import.meta.main) await runTask(main);
