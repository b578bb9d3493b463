import assert from "node:assert/strict";
import { join } from "node:path";
import type { ProbeSummary } from "../../core/eval/probe.ts";
import { PROBE_CHART } from "../../core/eval/probe_report.ts";
import { decodePng } from "../../core/io/png.ts";
import { FIXTURES } from "../eval/helpers.ts";
import { FORMATS_DIR, REFERENCE_DIR, runTaskFile, sharedTest } from "../shared.ts";

const TINY = join(REFERENCE_DIR, "tiny-a");
const ART = join(FORMATS_DIR, "art");

const run = (args: string[]) => runTaskFile("probe", args);

const model = [
  "--weights",
  join(TINY, "weights.safetensors"),
  "--config",
  join(TINY, "config.json"),
  "--input-size",
  "70",
];

sharedTest(
  "deno task probe: tiny-a on fixture rooms with the shared pictures writes every output",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = join(dir, "probe");
      const args = [
        ...model,
        "--root",
        join(FIXTURES, "hypersim"),
        "--art",
        ART,
        "--sizes",
        "0.02,0.1,0.3",
        "--levels",
        "2",
        "--limit",
        "2",
        "--seed",
        "4",
      ];
      const result = await run([...args, "--out", out]);
      assert.equal(result.code, 0, result.stderr);
      const summary: ProbeSummary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
      // Per frame and size: one paste per art level, and a blank per aspect ratio those pictures have.
      const artTrials = 2 * 3 * 2;
      assert.ok(summary.trials >= artTrials + 2 * 3 && summary.trials <= 2 * artTrials, `${summary.trials}`);
      assert.equal(summary.art.kind, "pool");
      // The blank control, then the pictures ranked by the model's own depth of each, flattest-looking first.
      assert.deepEqual(summary.levels.map((l) => l.pieces.length), [1, 4, 4]);
      assert.ok(summary.levels[1].depthRatio[1] <= summary.levels[2].depthRatio[0]);
      const lines = (await Deno.readTextFile(join(out, "probe.jsonl"))).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.equal(lines.length, summary.trials);
      const onArt = lines.filter((l) => l.level > 0);
      assert.equal(onArt.length, artTrials);
      assert.ok(onArt.every((l) => l.paired), "every art paste has a blank in its pose");
      for (const l of onArt) {
        const blank = lines.find((b) =>
          b.level === 0 && b.frame === l.frame && b.size === l.size && b.aspect === l.aspect
        );
        assert.deepEqual(blank?.pose, l.pose);
        assert.equal(l.followsArt, null, "pictures without depth cannot be followed");
      }
      assert.equal(summary.criteria!.verdict, "flatness");
      assert.deepEqual(summary.criteria!.large.sizes, [0.3]);
      assert.deepEqual(summary.criteria!.small.sizes, [0.02]);
      assert.equal(summary.criteria!.large.pairs, 2 * 2);
      const report = await Deno.readTextFile(join(out, "report.md"));
      assert.match(report, /\*\*Fooled beyond the blank: (yes|no)\*\*/);
      assert.match(
        report,
        /\| large: art's mean flatness error \/ the blank's \| [^|]+ \| ≥ 2× \| (yes|no) \|/,
      );
      assert.match(result.stdout, /fooled beyond the blank: (yes|no) \(at >= 20 %/);
      for (const size of [0.02, 0.1, 0.3]) {
        const cell = summary.cells.find((c) => c.level === 0 && c.size === size)!;
        assert.ok(Math.abs(cell.meanArea! - size) < 0.3 * size, `asked ${size}, measured ${cell.meanArea}`);
      }
      const chart = decodePng(await Deno.readFile(join(out, "probe.png")), "probe.png");
      assert.deepEqual([chart.width, chart.height], [
        2 * PROBE_CHART.width + PROBE_CHART.gap,
        PROBE_CHART.height,
      ]);
      const record = JSON.parse(await Deno.readTextFile(join(out, "probe.run.json")));
      assert.equal(record.task, "probe");
      assert.match(await Deno.readTextFile(join(out, "report.md")), /# trompe probe: weights/);
      assert.match(result.stdout, /report: .*report\.md/);

      const again = await run([...args, "--out", join(dir, "again")]);
      assert.equal(again.code, 0, again.stderr);
      const strip = (t: string) => t.replace(/"seconds":[^,}]+/g, "");
      assert.equal(
        strip(await Deno.readTextFile(join(dir, "again", "probe.jsonl"))),
        strip(await Deno.readTextFile(join(out, "probe.jsonl"))),
        "the same seed gives the same pastes and the same scores",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sharedTest("deno task probe: bad flags and paths exit with one line naming them", async () => {
  const root = ["--root", join(FIXTURES, "hypersim")];
  const noArt = await run([...model, ...root]);
  assert.equal(noArt.code, 2);
  assert.match(noArt.stderr, /--art: is required/);
  const badSize = await run([...model, ...root, "--art", ART, "--sizes", "0.1,2"]);
  assert.equal(badSize.code, 2);
  assert.match(badSize.stderr, /--sizes: "2" is not a share/);
  const missing = join(FIXTURES, "no-such-art");
  const gone = await run([...model, ...root, "--art", missing]);
  assert.equal(gone.code, 1);
  assert.ok(gone.stderr.includes(missing), gone.stderr);
  const tooMany = await run([...model, ...root, "--art", ART, "--levels", "9"]);
  assert.equal(tooMany.code, 2);
  assert.ok(
    tooMany.stderr.includes(`${ART}: holds 8 pieces of art, fewer than the 9 levels`),
    tooMany.stderr,
  );
  const noModel = await run([...root, "--art", ART]);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /--weights: is required/);
  assert.ok(!/\n\s+at /.test(noModel.stderr), "no stack trace without --debug");
});

sharedTest(
  "deno task probe: several models on the same levels, and --art-scores fixes them for a later run",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const common = [
        "--config",
        join(TINY, "config.json"),
        "--input-size",
        "70",
        "--root",
        join(FIXTURES, "hypersim"),
        "--art",
        ART,
        "--sizes",
        "0.02,0.3",
        "--levels",
        "2",
        "--limit",
        "1",
      ];
      const out = join(dir, "both");
      const both = await run([
        ...common,
        "--weights",
        join(TINY, "weights.safetensors"),
        "--weights",
        join(TINY, "weights.pth"),
        "--out",
        out,
      ]);
      assert.equal(both.code, 0, both.stderr);
      assert.match(both.stdout, /levels by tiny-a\/weights#1\)/, "the first model scores the pictures");
      const report = await Deno.readTextFile(join(out, "report.md"));
      assert.match(report, /# trompe probe: models compared/);
      assert.equal((report.match(/^\| \[/gm) ?? []).length, 2, report);
      const scores = JSON.parse(await Deno.readTextFile(join(out, "art_scores.json")));
      assert.equal(Object.keys(scores.pieces).length, 8);
      const record = JSON.parse(await Deno.readTextFile(join(out, "probe.run.json")));
      const summaryOf = async (folder: string): Promise<ProbeSummary> =>
        JSON.parse(await Deno.readTextFile(join(folder, "summary.json")));
      const [one, two] = await Promise.all(
        record.settings.names.map((name: string) => summaryOf(join(out, name))),
      );
      const levelsOf = (s: ProbeSummary) => s.levels.map((l) => l.pieces);
      assert.deepEqual(levelsOf(one), levelsOf(two));

      // A later run of one model with those scores cuts the identical levels without scoring anything.
      const later = join(dir, "later");
      const again = await run([
        ...common,
        "--weights",
        join(TINY, "weights.pth"),
        "--art-scores",
        join(out, "art_scores.json"),
        "--out",
        later,
      ]);
      assert.equal(again.code, 0, again.stderr);
      const reused = await summaryOf(later);
      assert.match(reused.art.scoredBy, /^tiny-a\/weights#1 \(from .*art_scores\.json\)$/);
      assert.deepEqual(levelsOf(reused), levelsOf(one));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
