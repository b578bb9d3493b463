/**
 * What every bench module hands to bench/run.ts: one section of the results table. A bench module exports
 * `measure(options)` (used by `deno task bench`, which writes bench/results/<date>-<adapter>.{json,md}) and
 * may register `Deno.bench` cases for `deno bench` (they are inert under `deno run`).
 */
export interface BenchRow {
  /** What was measured, e.g. "matmul 1370×4096×1024". */
  readonly case: string;
  /** trompe's figure with its unit, e.g. "47.1 GFLOP/s". */
  readonly trompe: string;
  /** The peer's figure with its unit and who the peer is, when there is one. */
  readonly peer?: string;
  /** trompe ÷ peer in the direction where > 1 means trompe is better (speed, or peer memory ÷ trompe memory). */
  readonly ratio?: number;
  /** Anything a reader needs to trust the row (repeats, backend, memory). */
  readonly note?: string;
}

export interface BenchSection {
  readonly title: string;
  readonly rows: readonly BenchRow[];
  /** Extra lines printed under the table: per-op GPU time, peak-memory breakdowns. */
  readonly details?: readonly string[];
}

export interface BenchOptions {
  /** Fewer repeats and smaller inputs: for a smoke run, not for figures. */
  readonly quick: boolean;
}

export type Measure = (options: BenchOptions) => Promise<BenchSection>;

/** Median of a few timings in ms (bench modules time whole operations after a warm-up). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `work` `repeats` times after `warmup` runs and returns each run's wall-clock ms. */
export async function timeRuns(work: () => Promise<unknown>, repeats: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await work();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  return times;
}

/** A section as Markdown: a table with the ratio column when any row has a peer. */
export function sectionMarkdown(section: BenchSection): string {
  const lines = [
    `## ${section.title}`,
    "",
    "| case | trompe | peer | ratio | note |",
    "|---|---|---|---|---|",
  ];
  for (const r of section.rows) {
    const ratio = r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`;
    lines.push(`| ${r.case} | ${r.trompe} | ${r.peer ?? ""} | ${ratio} | ${r.note ?? ""} |`);
  }
  if (section.details?.length) lines.push("", "```", ...section.details, "```");
  return lines.join("\n");
}
