/**
 * Run by the package tests in a fresh `deno run --no-config` process: imports trompe's Deno entry from the URL
 * given and augments the first two frames of a Hypersim tree with two worker threads — workers that must
 * load from wherever trompe itself was loaded.
 *
 *   augment_two.ts <mod.ts URL> <hypersim root> <out>
 */
const [entry, root, out] = Deno.args;
const trompe = await import(entry);
const { frames } = await trompe.listWithSplit("hypersim", root, { by: "scene" });
const summary = await trompe.runAugment(
  { dataset: "hypersim", root, out, recipe: trompe.preset("trompe"), seed: 1, frames: frames.slice(0, 2) },
  { workers: 2, shard: [1, 1], resume: false, version: trompe.TROMPE_VERSION },
);
if (summary.completed !== 2) throw new Error(`${summary.completed} of 2 frames completed`);
