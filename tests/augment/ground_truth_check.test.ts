import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { adapterFor } from "../../core/data/adapters.ts";
import { checkPastedRegions } from "../../core/augment/ground_truth_check.ts";
import { preset } from "../../core/augment/presets.ts";
import { runAugment } from "../../core/augment/runner.ts";
import { augmentFrame, MASK } from "../../core/augment/sample_augment.ts";
import type { Sources } from "../../core/augment/sources.ts";
import { readPng } from "../../core/io/png.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;
const REPO = new URL("../../", import.meta.url).pathname;

async function augmentedFixture(seed: number) {
  const root = join(FIXTURES, "hypersim");
  const adapter = adapterFor("hypersim");
  const { frames } = await adapter.list(root);
  const samples = await Promise.all(frames.map((f) => adapter.read(root, f)));
  const sources: Sources = {
    poolSize: samples.length,
    pool: (i) => Promise.resolve({ name: frames[i].rgb, rgb: samples[i].rgb }),
    frameCount: samples.length,
    frame: (i) => Promise.resolve({ name: frames[i].rgb, ...samples[i] }),
  };
  const recipe = preset("trompe");
  for (let s = seed;; s++) {
    const out = await augmentFrame({ ...samples[1], id: frames[1].rgb, index: 1 }, recipe, s, sources);
    const region = out.record.regions.find((r) => r.label !== "negative");
    if (region) return { sample: { ...samples[1], depth: out.depth, valid: out.valid }, out, region };
  }
}

Deno.test("checkPastedRegions: a good fill passes; near, non-finite and below-minimum depth are named", async () => {
  const { sample, out, region } = await augmentedFixture(1);
  const label = region.label === "mirror" ? MASK.mirror : MASK.art;
  assertEquals(checkPastedRegions(sample, out.mask, 2), []);

  const near = sample.depth.slice();
  for (let k = 0; k < near.length; k++) if (out.mask[k] === label) near[k] = 0.02;
  const problems = checkPastedRegions({ ...sample, depth: near }, out.mask, 2);
  assertEquals(problems.length, 1);
  assertEquals(problems[0].region, region.label);
  assert(problems[0].problem.includes("leaves its surround's band"), problems[0].problem);

  const broken = sample.depth.slice();
  const first = out.mask.indexOf(label);
  broken[first] = NaN;
  broken[first + 1] = 0.0005;
  const messages = checkPastedRegions({ ...sample, depth: broken }, out.mask, 2).map((p) => p.problem);
  assert(messages.some((m) => m.includes("1 pixels without finite, valid depth")), messages.join("; "));
  assert(messages.some((m) => m.includes("below the dataset's minimum 0.001 m")), messages.join("; "));
});

Deno.test("deno task data on an augmented set: 0 problems, then the frame and region of a bad fill", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const root = join(FIXTURES, "hypersim");
    const adapter = adapterFor("hypersim");
    const { frames } = await adapter.list(root);
    const out = join(tmp, "set");
    await runAugment(
      {
        dataset: "hypersim",
        root,
        out,
        recipe: preset("trompe"),
        seed: 3,
        art: join(root, frames[0].rgb, ".."),
        frames,
      },
      { workers: 1, shard: [1, 1], resume: false, version: "test" },
    );
    const data = async () => {
      const cmd = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(REPO, "tasks/data.ts"), "--dataset", "hypersim", "--root", out],
        stdout: "piped",
        stderr: "piped",
      });
      const { code, stdout } = await cmd.output();
      return { code, text: new TextDecoder().decode(stdout) };
    };
    const clean = await data();
    assertEquals(clean.code, 0);
    assert(clean.text.includes("\n0 problems"), clean.text);

    // Rewrite one pasted region 2 cm from the camera, as the old plane fit did, through the set's own writer.
    let broken = "";
    for (const ref of frames) {
      const mask = (await readPng(join(out, "masks", ref.rgb.replace(/\.jpg$/, ".png")))).data;
      const label = [MASK.mirror, MASK.art].find((l) => mask.includes(l));
      if (label === undefined) continue;
      const sample = await adapter.read(out, ref);
      for (let k = 0; k < mask.length; k++) if (mask[k] === label) sample.depth[k] = 0.02;
      await adapter.write(out, ref, sample);
      broken = `${ref.rgb}: ${label === MASK.mirror ? "mirror" : "art"}: depth 0.0200–0.0200 m leaves`;
      break;
    }
    assert(broken, "no frame of the set has a pasted region");
    const found = await data();
    assert(found.text.includes("1 problem\n"), found.text);
    assert(found.text.includes(broken), `expected "${broken}" in:\n${found.text}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
