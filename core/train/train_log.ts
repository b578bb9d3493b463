/**
 * The run's logs: `train.jsonl` (one line per step) and `val.jsonl` (one line per validation), and the loss
 * curve drawn from them.
 *
 * A log line is appended as soon as its step is done, so a user can follow a long run; that append is the one
 * write here that is not atomic, and it does not need to be: a resumed run first rewrites each log, atomically,
 * keeping only the lines up to the step it resumes from, so lines of steps that are about to run again (or a
 * line cut short by a kill) never stay.
 */
import { join } from "node:path";
import { lineChart } from "../plot/charts.ts";
import { grid } from "../plot/canvas.ts";
import type { DepthMetrics } from "../eval/metrics.ts";
import { asTrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { writePng } from "../io/png.ts";

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  /** Encoder learning rate of the step (the decoder's is ×10). */
  lr: number;
  ms: number;
  /** The pool's peak during the step. */
  peakBytes: number;
  /** Pixels the loss counted. */
  pixels: number;
}

export interface ValRecord {
  /** Steps taken when validation ran. */
  step: number;
  epoch: number;
  images: number;
  failed: number;
  metrics: DepthMetrics | null;
  best: boolean;
}

/** JSON that keeps non-finite numbers readable (as null) instead of failing. */
function line(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v)) + "\n";
}

export class JsonlLog<T extends { step: number }> {
  readonly entries: T[] = [];

  constructor(readonly path: string) {}

  /** Reads the existing log keeping the entries `keep` accepts (those of the steps before the resume point). */
  async resumeWith(keep: (entry: T) => boolean): Promise<void> {
    let text = "";
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw asTrompeError(error, this.path);
    }
    this.entries.length = 0;
    for (const row of text.split("\n")) {
      if (!row.trim()) continue;
      try {
        const entry = JSON.parse(row) as T;
        if (keep(entry)) this.entries.push(entry);
      } catch {
        // A line cut short by a kill: its step runs again.
      }
    }
    await writeTextFileAtomic(this.path, this.entries.map(line).join(""));
  }

  async append(entry: T): Promise<void> {
    this.entries.push(entry);
    try {
      await Deno.writeTextFile(this.path, line(entry), { append: true });
    } catch (error) {
      throw asTrompeError(error, this.path);
    }
  }
}

export function trainLogs(out: string) {
  return {
    steps: new JsonlLog<StepRecord>(join(out, "train.jsonl")),
    vals: new JsonlLog<ValRecord>(join(out, "val.jsonl")),
  };
}

/**
 * loss_curve.png: the loss of every step (null losses, from skipped steps, left out) above validation's
 * abs_rel, on the same steps, each with the epochs' ends marked.
 */
export async function writeLossCurve(
  path: string,
  steps: readonly StepRecord[],
  vals: readonly ValRecord[],
  stepsPerEpoch: number,
): Promise<void> {
  const points = steps.filter((s) => Number.isFinite(s.loss)).map((s) => [s.step, s.loss] as const);
  if (points.length === 0) return;
  const last = Math.max(...steps.map((s) => s.step + 1), ...vals.map((v) => v.step));
  const xMarks = Array.from(
    { length: Math.floor(last / stepsPerEpoch) },
    (_, e) => ({ value: (e + 1) * stepsPerEpoch, label: `epoch ${e + 1}` }),
  );
  const panel = { xLabel: "step", legend: false, height: 340, xMarks } as const;
  const loss = lineChart({
    ...panel,
    title: "training loss (SiLog)",
    yLabel: "loss",
    series: [{ name: "loss", points }],
    // Thousands of steps read as points; a few as a line.
    markersOnly: points.length > 200,
  });
  const validated = vals
    .filter((v) => v.metrics !== null && Number.isFinite(v.metrics.abs_rel))
    .map((v) => [v.step, v.metrics!.abs_rel] as const);
  const images = [loss.image];
  if (validated.length > 0) {
    images.push(
      lineChart({
        ...panel,
        title: "validation abs_rel (lower is better)",
        yLabel: "abs_rel",
        series: [{ name: "abs_rel", points: validated }],
      }).image,
    );
  }
  await writePng(path, grid(images, 1, 8));
}
