import assert from "node:assert/strict";
import { join } from "node:path";
import { decodePng } from "../../core/io/png.ts";
import { REFERENCE_DIR, runTaskFile, sharedTest } from "../shared.ts";

const run = (args: string[]) => runTaskFile("compare", args);

sharedTest("deno task compare: writes the tables, the chart and a run record", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tiny = join(REFERENCE_DIR, "tiny-a");
    const r = await run([
      join(tiny, "weights.pth"),
      join(tiny, "after_step.safetensors"),
      "--out",
      dir,
      "--top",
      "5",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\| pretrained\.blocks\.3 \| 14 \|/);
    const md = await Deno.readTextFile(join(dir, "compare.md"));
    assert.match(md, /## The 5 tensors that changed most/);
    const png = decodePng(await Deno.readFile(join(dir, "compare.png")), "compare.png");
    assert.equal(png.height, 560);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "compare.json")));
    assert.equal(json.keys.length, 127);
    assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "compare.run.json"))).task, "compare");

    // The flag the other tasks take names the two checkpoints as well, and the chart's axis can be chosen.
    const flagged = await run([
      "--weights",
      join(tiny, "weights.pth"),
      "--load-from",
      join(tiny, "after_step.safetensors"),
      "--out",
      join(dir, "flagged"),
      "--scale",
      "log",
    ]);
    assert.equal(flagged.code, 0, flagged.stderr);
    const record = JSON.parse(await Deno.readTextFile(join(dir, "flagged", "compare.run.json")));
    assert.equal(record.settings.scale, "log");
    assert.match(record.inputs.b, /after_step\.safetensors$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task compare: one checkpoint is a usage error, not a crash", async () => {
  const r = await run(["only-one.pth"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: bad-argument: expected two checkpoints, got 1/);
  assert(!r.stderr.includes("    at "), "no stack trace");
});
