/**
 * `deno task data`: what a dataset tree holds (scenes, frames, resolution, depth range, invalid fraction) and
 * what is wrong with it, optionally with a contact sheet of RGB and colourised depth.
 */
import { choiceFlag, floatFlag, intFlag, parseFlags, requireFlag } from "../core/cli/flags.ts";
import { runTask } from "../core/cli/main.ts";
import { listHypersimFrames, readHypersimSample } from "../core/data/hypersim.ts";
import type { Sample } from "../core/data/sample.ts";
import { type FrameStats, scanFrames, type ScanProblem } from "../core/data/scan.ts";
import { listVkitti2Frames, readVkitti2Sample } from "../core/data/vkitti2.ts";
import { TrompeError } from "../core/errors.ts";
import { colorizeDepth } from "../core/io/colormap.ts";
import { writePng } from "../core/io/png.ts";
import type { RasterU8 } from "../core/io/raster.ts";

const HELP =
  `deno task data --dataset hypersim|vkitti2 --root DIR [--preview N --out FILE.png] [--planar official|exact]

Scans a dataset tree: lists its scenes and frames, reads every frame and reports resolution, depth range and
the fraction of invalid pixels, and lists every problem found (a frame without depth, a truncated file, ...)
without stopping at the first.

  --dataset NAME    hypersim | vkitti2
  --root DIR        the dataset's root folder
  --planar MODE     Hypersim planar depth: official (Depth Anything V2's loader, default) | exact (scene camera)
  --max-depth M     vKITTI2: depth beyond M metres is invalid (default 80, as the official loader)
  --preview N       also write a contact sheet of the first N frames (RGB | colourised inverse depth)
  --out FILE.png    where the contact sheet goes (required with --preview)
  --debug           print stack traces
  --help            this text
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

/** Rows of [RGB | depth], each frame scaled to the first frame's width by nearest neighbour. */
function contactSheet(samples: Sample[]): RasterU8 {
  const cellW = samples[0].width;
  const cellH = Math.max(...samples.map((s) => Math.round((s.height * cellW) / s.width)));
  const sheet = new Uint8Array(cellW * 2 * cellH * samples.length * 3);
  samples.forEach((s, row) => {
    const depth = colorizeDepth(s.depth, s.valid, s.width, s.height);
    [s.rgb, depth].forEach((image, col) => {
      const h = Math.round((s.height * cellW) / s.width);
      for (let y = 0; y < h; y++) {
        const sy = Math.min(s.height - 1, Math.floor((y * s.height) / h));
        for (let x = 0; x < cellW; x++) {
          const sx = Math.min(s.width - 1, Math.floor((x * s.width) / cellW));
          const to = 3 * ((row * cellH + y) * cellW * 2 + col * cellW + x);
          sheet.set(image.data.subarray(3 * (sy * s.width + sx), 3 * (sy * s.width + sx) + 3), to);
        }
      }
    });
  });
  return { width: cellW * 2, height: cellH * samples.length, channels: 3, data: sheet };
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
  console.log(`${dataset}: ${scenes.size} scenes, ${frames.length} frames (${stats.length} read)`);
  for (const [scene, count] of scenes) console.log(`  ${scene}: ${count} frames`);
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
      dataset: { type: "string" },
      root: { type: "string" },
      planar: { type: "string" },
      "max-depth": { type: "string" },
      preview: { type: "string" },
      out: { type: "string" },
      debug: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
  if (values.help) {
    console.log(HELP);
    return;
  }
  const dataset = choiceFlag(values.dataset, "--dataset", ["hypersim", "vkitti2"] as const);
  const root = requireFlag(values.root, "--root", "the dataset's root folder");
  const planar = choiceFlag(values.planar, "--planar", ["official", "exact"] as const, "official");
  const maxDepth = floatFlag(values["max-depth"], "--max-depth", 80)!;
  if (!(maxDepth > 0)) throw new TrompeError("bad-argument", "must be positive", { subject: "--max-depth" });
  const preview = intFlag(values.preview, "--preview", 0);
  if (preview > 0) requireFlag(values.out, "--out", "needed with --preview");

  const { frames, problems, read } = await openDataset(dataset, root, planar, maxDepth);
  const readAny = read as (f: (typeof frames)[number]) => Promise<Sample>;
  const stats = await scanFrames(frames, readAny, problems);
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
    await writePng(values.out!, contactSheet(samples));
    console.log(`preview of ${samples.length} frames: ${values.out}`);
  }
}

if (import.meta.main) await runTask(main);
