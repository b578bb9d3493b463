/**
 * `deno task fixtures`: procedural Hypersim- and vKITTI2-format scene trees with exact depth.
 */
import { join } from "node:path";
import { parseFlags, stringFlags } from "../core/cli/flags.ts";
import { DATASET_NAMES } from "../core/data/datasets.ts";
import { asTrompeError, TrompeError } from "../core/errors.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import {
  type FixtureOptions,
  type FixtureSummary,
  writeHypersimFixtures,
  writeVkitti2Fixtures,
} from "../core/data/fixtures/write.ts";
import { plural } from "../core/plural.ts";

const HELP = `deno task fixtures [flags]

Ray-casts procedural scenes with exact depth and writes them as real dataset trees.

  --dataset hypersim|vkitti2|both   which layout (default both; "both" writes OUT/hypersim and OUT/vkitti2)
  --count N                         frames per dataset (default 6)
  --frames-per-scene F              frames per scene (default 3)
  --size WxH                        image size (default 256x192 for hypersim, 414x125 for vkitti2)
  --seed S                          non-negative integer (default 0); scene k depends only on (S, k)
  --style basic|study               scene style (default basic: the committed fixtures' rooms and streets);
                                    study: rooms with textured surfaces, furniture and small things of real
                                    size, flat boards (panels, whiteboards, screens, doors) and openings with
                                    real depth behind (windows onto buildings, doorways into a second room);
                                    Hypersim only, per-scene field of view in metadata_camera_parameters.csv
  --part train|heldout              study style: which scenes (default train). Held-out scenes are never
                                    train scenes for any seeds (the part is hashed into every draw) and are
                                    named ai_950_NNN (train ai_910_NNN); a held-out set is all in val.txt
  --workers N                       worker threads (default 1 up to 8 frames, else up to 8 and the cores)
  --out DIR                         output root (required)
  --debug                           print stack traces on error
  --help                            this text

Hypersim: OUT/ai_900_NNN/images/scene_cam_00_{final_preview,geometry_hdf5}/frame.NNNN.{tonemap.jpg,
depth_meters.hdf5} (float16 distance, NaN = no hit). vKITTI2: OUT/SceneNN/<variation>/frames/{rgb,depth}/
Camera_0/{rgb,depth}_NNNNN.{jpg,png} (uint16 planar cm, 65535 = sky) + intrinsic.txt, extrinsic.txt.
Both: splits/{train,val}.txt (every fifth scene, from the second, is val) and fixtures.json (what was done).

A study training set and its held-out set (256x192, 4 frames per scene):
  deno task fixtures --style study --part train --count 4000 --frames-per-scene 4 --seed 1 --out data/train
  deno task fixtures --style study --part heldout --count 400 --frames-per-scene 4 --seed 1 --out data/heldout`;

const DEFAULT_SIZE = { hypersim: [256, 192], vkitti2: [414, 125] } as const;

function parseSize(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (!m) throw new TrompeError("bad-argument", `expected WxH, got "${text}"`, { subject: "--size" });
  return [Number(m[1]), Number(m[2])];
}

function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new TrompeError("bad-argument", `expected a non-negative integer, got "${text}"`, {
      subject: flag,
    });
  }
  return n;
}

const FLAGS = {
  dataset: { type: "string", default: "both" },
  count: { type: "string", default: "6" },
  "frames-per-scene": { type: "string", default: "3" },
  size: { type: "string" },
  seed: { type: "string", default: "0" },
  style: { type: "string", default: "basic" },
  ...stringFlags("part", "workers", "out"),
} as const;

async function main(args: string[]): Promise<void> {
  const values = parseFlags("fixtures", { args, options: FLAGS }, HELP).values;
  if (values.help) return;
  if (!values.out) {
    throw new TrompeError("bad-argument", "no output directory", {
      subject: "--out",
      hint: "pass --out DIR",
    });
  }
  const style = values.style;
  if (style !== "basic" && style !== "study") {
    throw new TrompeError("bad-argument", `unknown style "${style}"`, {
      subject: "--style",
      hint: "basic or study",
    });
  }
  const part = values.part;
  if (part !== undefined && (style !== "study" || (part !== "train" && part !== "heldout"))) {
    throw new TrompeError("bad-argument", `--part ${part} needs --style study and train or heldout`, {
      subject: "--part",
    });
  }
  if (style === "study" && values.dataset === "vkitti2") {
    throw new TrompeError("bad-argument", "the study style makes Hypersim scenes only", {
      subject: "--dataset",
      hint: "leave --dataset out or pass hypersim",
    });
  }
  const kinds = style === "study"
    ? ["hypersim"]
    : values.dataset === "both"
    ? DATASET_NAMES
    : [values.dataset];
  for (const kind of kinds) {
    if (kind !== "hypersim" && kind !== "vkitti2") {
      throw new TrompeError("bad-argument", `unknown dataset "${kind}"`, {
        subject: "--dataset",
        hint: "hypersim, vkitti2 or both",
      });
    }
  }
  const size = parseSize(values.size);
  for (const kind of kinds as ("hypersim" | "vkitti2")[]) {
    const [width, height] = size ?? DEFAULT_SIZE[kind];
    const root = kinds.length > 1 ? join(values.out, kind) : values.out;
    const options: FixtureOptions = {
      count: parseCount(values.count, "--count"),
      framesPerScene: parseCount(values["frames-per-scene"], "--frames-per-scene"),
      seed: parseCount(values.seed, "--seed"),
      width,
      height,
      workers: values.workers === undefined ? undefined : parseCount(values.workers, "--workers"),
      ...(style === "study" ? { style, part: part ?? "train" } : {}),
      onFrame: progress(kind),
    };
    const write = kind === "hypersim" ? writeHypersimFixtures : writeVkitti2Fixtures;
    const done: FixtureSummary = await write(root, options);
    const record = {
      tool: "trompe fixtures",
      dataset: kind,
      settings: {
        count: options.count,
        framesPerScene: options.framesPerScene,
        seed: options.seed,
        width,
        height,
        ...(style === "study" ? { style, part: options.part } : {}),
      },
      ...done,
    };
    await writeTextFileAtomic(join(root, "fixtures.json"), JSON.stringify(record, null, 2) + "\n");
    console.log(
      `${kind}: ${plural(done.frames, "frame")} (${done.train} train, ${done.val} val) in ${
        plural(done.scenes, "scene")
      } at ` +
        `${width}x${height} → ${root}; ${
          (1000 * done.renderSeconds / done.frames).toFixed(0)
        } ms/frame ray ` +
        `casting, ${done.totalSeconds.toFixed(1)} s in all`,
    );
  }
}

/** A progress line: rewritten in place on a terminal, every 10 % otherwise. */
function progress(label: string): (done: number, total: number) => void {
  const tty = Deno.stdout.isTerminal();
  const start = performance.now();
  return (done, total) => {
    const seconds = (performance.now() - start) / 1000;
    const rate = done / seconds;
    const line = `${label}: ${done}/${total} frames, ${rate.toFixed(1)}/s, ETA ${
      ((total - done) / rate).toFixed(0)
    } s`;
    if (tty) Deno.stdout.writeSync(new TextEncoder().encode(`\r${line}${done === total ? "\n" : ""}`));
    else if (done === total || Math.floor(10 * done / total) > Math.floor(10 * (done - 1) / total)) {
      console.log(line);
    }
  };
}

if (import.meta.main) {
  const debug = Deno.args.includes("--debug");
  try {
    await main(Deno.args);
  } catch (error) {
    const e = asTrompeError(error, "fixtures");
    console.error(debug ? e : e.oneLine());
    Deno.exit(1);
  }
}
