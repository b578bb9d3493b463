import assert from "node:assert/strict";
import { join } from "node:path";
import type { EvalSummary } from "../../core/eval/run.ts";
import { decodePng } from "../../core/io/png.ts";
import { runTaskFile } from "../shared.ts";

const run = (args: string[]) => runTaskFile("demo", args);

Deno.test("deno task demo --quick: scenes to report, with both evaluations, both probes and figures that decode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const result = await run(["--quick", "--out", dir]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /adapter: /);
    assert.match(result.stdout, /matmul: .* GFLOP\/s/);

    const report = await Deno.readTextFile(join(dir, "report.md"));
    assert.ok(report.includes("(eval_before/report.md)"), "links the evaluation before fine-tuning");
    assert.ok(report.includes("(eval/report.md)"), "links the side-by-side evaluation");
    assert.match(report, /\| \| start \| fine-tuned \| change \|/);
    assert.match(report, /\| fooled rate of pasted regions ↓ \| [\d.]+ % \| [\d.]+ % \|/);

    const before: EvalSummary = JSON.parse(await Deno.readTextFile(join(dir, "eval_before", "summary.json")));
    const after: EvalSummary = JSON.parse(await Deno.readTextFile(join(dir, "eval", "summary.json")));
    assert.deepEqual(before.models.map((m) => m.name), ["start"]);
    assert.deepEqual(after.models.map((m) => m.name), ["start", "fine-tuned"]);
    assert.ok(after.images.evaluated > 0 && after.images.evaluated === before.images.evaluated);
    assert.notDeepEqual(after.models[1].official, after.models[0].official, "fine-tuning changed the model");
    // The before/after table shows the evaluation's own numbers, and its change column is their difference.
    const row = (label: string) => {
      const line = report.split("\n").find((l) => l.startsWith(`| ${label} |`));
      assert.ok(line, `the table has a row "${label}"`);
      return line.split("|").slice(2, 5).map((cell) => parseFloat(cell.trim().replace("+", "")));
    };
    const [start, tuned] = after.models;
    const close = (shown: number, value: number, what: string, tolerance: number) =>
      assert.ok(
        Math.abs(shown - value) <= tolerance,
        `${what}: the report shows ${shown}, the summary has ${value}`,
      );
    for (
      const [label, value] of [
        ["abs_rel (whole frame) ↓", (m: typeof start) => m.official.mean!.abs_rel],
        ["d1 (whole frame) ↑", (m: typeof start) => m.official.mean!.d1],
      ] as const
    ) {
      const [a, b, change] = row(label);
      close(a, value(start), `${label}, start`, 1e-3 * Math.abs(value(start)));
      close(b, value(tuned), `${label}, fine-tuned`, 1e-3 * Math.abs(value(tuned)));
      close(change, value(tuned) - value(start), `${label}, change`, 2e-3 * Math.abs(value(start)));
    }
    const [fooledStart, fooledTuned] = row("fooled rate of pasted regions ↓");
    close(fooledStart, 100 * start.flat.fooledRate!, "fooled rate, start (%)", 0.05);
    close(fooledTuned, 100 * tuned.flat.fooledRate!, "fooled rate, fine-tuned (%)", 0.05);
    // The starting model is evaluated on the same frames before and after (its predictions are reused).
    assert.equal(before.models[0].flat.pasted, start.flat.pasted);

    const figures = [...report.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)].map((m) => m[1]);
    for (const expected of ["eval/charts/metrics.png", "eval/worst_regions.png", "probe_start/probe.png"]) {
      assert.ok(figures.includes(expected), `the report shows ${expected}`);
    }
    assert.ok(figures.includes("probe_finetuned/probe.png"));
    const probe = JSON.parse(await Deno.readTextFile(join(dir, "probe_finetuned", "summary.json")));
    assert.equal(probe.model, "fine-tuned");
    assert.ok(probe.trials > 0);
    for (const figure of figures) {
      const png = decodePng(await Deno.readFile(join(dir, figure)), figure);
      assert.ok(png.width >= 200 && png.height >= 100, `${figure}: ${png.width}×${png.height}`);
    }
    for (const curve of ["start/loss_curve.png", "finetune/loss_curve.png"]) {
      assert.ok(report.includes(`(${curve})`));
      decodePng(await Deno.readFile(join(dir, curve)), curve);
    }
    const numbers = JSON.parse(await Deno.readTextFile(join(dir, "demo.json")));
    assert.equal(numbers.after.length, 2);
    assert.ok(numbers.totalSeconds > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task demo: bad flags exit 2 with one line naming the flag", async () => {
  const size = await run(["--input-size", "50"]);
  assert.equal(size.code, 2);
  assert.match(size.stderr, /--input-size: 50 is not a multiple of the patch size 14/);
  const config = await run(["--config", "model.json"]);
  assert.equal(config.code, 2);
  assert.match(config.stderr, /--config: applies to --weights only/);
  const missing = await run(["--weights", "/no/such/start.safetensors", "--quick", "--steps", "0"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--steps: "0" is not an integer ≥ 1/);
});
