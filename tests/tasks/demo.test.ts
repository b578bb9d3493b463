import assert from "node:assert/strict";
import { join } from "node:path";
import { decodePng } from "../../core/io/png.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { runTaskFile } from "../shared.ts";

const run = (args: string[]) => runTaskFile("demo", args);

Deno.test("deno task demo --quick: the experiment from the committed base, judged on held-out scenes, written up", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const result = await run(["--quick", "--out", dir]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /adapter: /);
    assert.match(result.stdout, /matmul: .* GFLOP\/s/);

    const study = JSON.parse(await Deno.readTextFile(join(dir, "study.json")));
    assert.ok(
      study.settings.base.endsWith(join("fixtures", "study_base", "base.safetensors")),
      `the base is the committed model, not ${study.settings.base}`,
    );
    assert.deepEqual(study.models.map((m: { name: string }) => m.name), ["base", "seed s1", "trompe s1"]);
    // Each arm fine-tuned the base: its weights moved.
    const base = await readSafetensors(study.settings.base);
    for (const run of study.runs) {
      const tuned = await readSafetensors(run.checkpoint);
      const moved = base.names().some((key) => {
        const a = base.float32(key), b = tuned.float32(key);
        return a.some((x, i) => Math.fround(x) !== b[i]);
      });
      assert.ok(moved, `${run.arm}: the fine-tune left the base unchanged`);
    }
    // The held-out scenes are study scenes never trained on, and their real openings were judged.
    const heldOut = await Deno.readTextFile(join(dir, "scenes", "heldout", "splits", "val.txt"));
    const train = await Deno.readTextFile(join(dir, "scenes", "train", "splits", "train.txt"));
    const scenes = (text: string) => new Set(text.trim().split("\n").map((l) => l.split("/")[0]));
    assert.ok([...scenes(heldOut)].every((s) => !scenes(train).has(s)));
    assert.ok(study.models[0].cleanOpenings.negatives > 0, "no real opening judged");

    // study.md: the table, the reading that follows from the precondition's verdicts, the figures.
    const md = await Deno.readTextFile(join(dir, "study.md"));
    assert.ok(md.includes("| metric | base | seed | trompe |"), md);
    const precondition = study.verdicts.filter((v: { claim: string }) => v.claim.startsWith("precondition:"));
    const failed = precondition.some((v: { holds: boolean | null }) => v.holds === false);
    assert.equal(md.includes("The precondition does not hold"), failed, md);
    assert.equal(
      md.includes("The precondition holds"),
      !failed && precondition.every((v: { holds: unknown }) => v.holds),
    );
    for (const figure of ["study.png", "study_sheet.png"]) {
      assert.ok(md.includes(`](${figure})`), `study.md shows ${figure}`);
      const png = decodePng(await Deno.readFile(join(dir, figure)), figure);
      assert.ok(png.width >= 200 && png.height >= 100, `${figure}: ${png.width}×${png.height}`);
    }
    const record = JSON.parse(await Deno.readTextFile(join(dir, "demo.run.json")));
    assert.equal(record.task, "demo");
    assert.ok(record.timings.total > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task demo: bad flags exit 2 with one line naming the flag", async () => {
  const size = await run(["--input-size", "50"]);
  assert.equal(size.code, 2);
  assert.match(size.stderr, /--input-size: 50 is not a multiple of the patch size 14/);
  const missing = await run(["--weights", "/no/such/base.safetensors", "--quick"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--weights: \/no\/such\/base.safetensors does not exist/);
  const steps = await run(["--quick", "--steps", "0"]);
  assert.equal(steps.code, 2);
  assert.match(steps.stderr, /--steps: "0" is not an integer ≥ 1/);
});
