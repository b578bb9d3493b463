import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { writeHypersimFixtures } from "../../core/data/fixtures/write.ts";
import { readPng } from "../../core/io/png.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { saveCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { parseConfig } from "../../core/nn/model/config.ts";
import { initialWeights } from "../../core/nn/model/init_weights.ts";
import { SMALL_MODEL } from "../../core/study/small_model.ts";

const TASK = new URL("../../tasks/study.ts", import.meta.url).pathname;

Deno.test("deno task study end to end on a tiny setting: table, spread over seeds, verdicts, frozen encoder", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await writeHypersimFixtures(join(tmp, "train"), {
      count: 4,
      width: 112,
      height: 84,
      seed: 31,
      framesPerScene: 2,
    });
    // Held-out scenes of the study style: they carry opening masks, for the false-flat rate on real openings.
    await writeHypersimFixtures(join(tmp, "heldout"), {
      count: 4,
      width: 112,
      height: 84,
      seed: 32,
      framesPerScene: 2,
      style: "study",
      part: "heldout",
    });
    const config = parseConfig(SMALL_MODEL, "small");
    const base = join(tmp, "base.safetensors");
    await saveCheckpoint(base, { config, stateDict: initialWeights(config, 0), provenance: { seed: 0 } });
    const out = join(tmp, "out");
    const args = [
      "--base",
      base,
      "--train",
      join(tmp, "train"),
      "--held-out",
      join(tmp, "heldout"),
      "--out",
      out,
    ];
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        TASK,
        ...args,
        "--seeds",
        "1,2",
        "--arms",
        "trompe,trompe-frozen",
        "--steps",
        "1",
        "--batch",
        "2",
        "--input-size",
        "42",
        "--probe-sizes",
        "0.3",
        "--probe-repeats",
        "1",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    assertEquals(run.code, 0, text);

    const study = JSON.parse(await Deno.readTextFile(join(out, "study.json")));
    assertEquals(study.models.map((m: { name: string }) => m.name), [
      "base",
      "trompe s1",
      "trompe s2",
      "trompe-frozen s1",
      "trompe-frozen s2",
    ]);
    // The table's arm cells are the spread of that arm's models, and its base cell the base model's value.
    const clean = (name: string) => study.models.find((m: { name: string }) => m.name === name).clean.abs_rel;
    assertEquals(study.table.cleanAbsRel.base, clean("base"));
    const [a, b] = [clean("trompe s1"), clean("trompe s2")];
    const cell = study.table.cleanAbsRel.arms.trompe;
    assertEquals(cell.n, 2);
    assert(Math.abs(cell.mean - (a + b) / 2) < 1e-12);
    assert(Math.abs(cell.sd - Math.abs(a - b) / Math.SQRT2) < 1e-12);
    assertEquals([cell.min, cell.max], [Math.min(a, b), Math.max(a, b)]);
    // Different seeds train on differently augmented frames: their models differ.
    assert(a !== b, "both seeds gave the same model");

    // The false-flat rate on real openings comes from the clean held-out scenes' opening masks.
    const openings = study.models[0].cleanOpenings;
    assert(openings.negatives > 0, "no real opening was judged in the held-out scenes");
    assertEquals(study.table.openingsFalseFlat.base, openings.falseFlatRate);
    assert(
      study.verdicts.some((v: { claim: string }) => v.claim.includes("false-flat rate on real openings")) ===
        false,
      "the seed arm was not run, so no seed-against-trompe verdict on openings",
    );

    // The verdict on clean and background abs_rel follows from the table's numbers.
    const keeps = study.verdicts.find((v: { claim: string }) =>
      v.claim.startsWith("trompe keeps clean-scene")
    );
    const bg = study.table.backgroundAbsRel;
    assertEquals(
      keeps.holds,
      cell.mean <= 1.05 * study.table.cleanAbsRel.base && bg.arms.trompe.mean <= 1.05 * bg.base,
    );

    // The frozen arm's encoder is the base's, bit for bit; its decoder moved. The unfrozen arm's encoder moved.
    const baseWeights = await readSafetensors(base);
    for (const [name, encoderMoves] of [["trompe-frozen-s1", false], ["trompe-s1", true]] as const) {
      const tuned = await readSafetensors(join(out, "arms", name, "latest.safetensors"));
      let encoderChanged = false, decoderChanged = false;
      for (const key of baseWeights.names()) {
        const t = baseWeights.float32(key), u = tuned.float32(key);
        const same = u.length === t.length && u.every((x, i) => Object.is(x, t[i]));
        if (key.startsWith("pretrained.")) encoderChanged ||= !same;
        else decoderChanged ||= !same;
      }
      assertEquals(encoderChanged, encoderMoves, `${name}: encoder changed = ${encoderChanged}`);
      assert(decoderChanged, `${name}: decoder unchanged`);
    }

    const md = await Deno.readTextFile(join(out, "study.md"));
    assert(md.includes("| metric | base | trompe | trompe-frozen |"), md);
    assert(md.includes("## The hypotheses, checked"), md);
    assert(md.includes("![every seed's value per metric](study.png)"), md);
    const figure = await readPng(join(out, "study.png"));
    assert(figure.width > 400 && figure.height > 400, `${figure.width}×${figure.height}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
