/**
 * `deno run -A bench/ab_checkouts.ts forward|step|matmul <checkout> <checkout> [--reps N] [--cases RE]`: the
 * ViT-S forward at 518², its training step with block checkpointing, or `matmul()` at those shapes of
 * bench/matmul_bench.ts whose names match --cases (products recorded back to back, PRODUCTS_PER_WAIT to a
 * wait, the time per product), of two checkouts of trompe in one process, taking turns, each on its own
 * Runtime with its own kernels. A shared host moves a run by ±10–20 % from one process to the next;
 * alternating in one process is what separates a change of a few percent from that (e.g. one checkout made
 * with `git worktree add /tmp/before <rev>`, with node_modules linked); each turn swaps which runs first, so an
 * even --reps gives each checkout each place equally often. Prints each checkout's median wall
 * and CPU time, and whether their outputs (depth, the step's losses, C) are identical.
 */
import process from "node:process";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PRODUCTS_PER_WAIT, SHAPES } from "./matmul_bench.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { reps: { type: "string", default: "5" }, cases: { type: "string", default: "" } },
});
const [mode, ...roots] = positionals;
if (!["forward", "step", "matmul"].includes(mode) || roots.length !== 2) {
  console.error(
    "usage: bench/ab_checkouts.ts forward|step|matmul <checkout> <checkout> [--reps N] [--cases RE]",
  );
  Deno.exit(2);
}
const reps = Number(values.reps);
const SIZE = 518;

/** One run of the measured work, returning what must match between the checkouts. */
type Run = () => Promise<Float32Array | number>;

// Each checkout's modules are its own, imported by path (untyped here). The cases to time, by name.
async function load(root: string): Promise<[string, Run][]> {
  const at = (path: string) => import(join(resolve(root), path));
  const { Runtime } = await at("core/gpu/runtime.ts");
  const { randomArray, REFERENCE_DIR } = await at("tests/shared.ts");
  const weights = join(REFERENCE_DIR, "vits-518/weights.safetensors");
  const configFile = join(REFERENCE_DIR, "vits/config.json");
  const rt = await Runtime.create();
  if (mode === "forward") {
    const { loadDepthAnythingV2 } = await at("core/nn/model/load.ts");
    const model = await loadDepthAnythingV2(weights, { configFile }, rt);
    const input = randomArray(3 * SIZE * SIZE, 1);
    return [["forward", () => model.forward(input, SIZE, SIZE)]];
  }
  if (mode === "matmul") {
    const { matmul } = await at("core/gpu/matmul.ts");
    const only = new RegExp(values.cases);
    return SHAPES.filter((s) => only.test(s.name)).map((s) => {
      const a = rt.upload("bench/a", [s.m * s.k], randomArray(s.m * s.k, 1));
      const b = rt.upload("bench/b", [s.k * s.n], randomArray(s.k * s.n, 2));
      const c = rt.tensor("bench/c", [s.m, s.n]);
      const args = { a, b, c, m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB, label: s.name };
      return [`${s.name} ${s.m}×${s.n}×${s.k}`, async () => {
        for (let i = 0; i < PRODUCTS_PER_WAIT; i++) matmul(rt, args);
        return await rt.read(c);
      }];
    });
  }
  const { loadCheckpoint } = await at("core/nn/model/checkpoint.ts");
  const { uploadWeights } = await at("core/nn/model/weights.ts");
  const { TrainStepper } = await at("core/train/train_step.ts");
  const { config, stateDict } = await loadCheckpoint(weights, { configFile });
  const stepper = new TrainStepper(rt, config, uploadWeights(rt, stateDict), {
    checkpoint: "blocks",
    trainable: () => true,
  });
  const plane = SIZE * SIZE;
  const batch = {
    batch: 1,
    height: SIZE,
    width: SIZE,
    image: randomArray(3 * plane, 1),
    depth: randomArray(plane, 2).map((v: number) => 5.5 + 4.5 * v),
    valid: new Uint32Array(plane).fill(1),
  };
  return [["step", async () => (await stepper.step(batch, 5e-6, { minDepth: 0.001, maxDepth: 20 })).loss]];
}

const checkouts = [await load(roots[0]), await load(roots[1])];
const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
const equal = (a: Float32Array | number, b: Float32Array | number) =>
  typeof a === "number" || typeof b === "number"
    ? a === b
    : a.length === b.length && a.every((v, j) => v === b[j]);
// Time per timed unit: a product, where a run records PRODUCTS_PER_WAIT of them.
const perRun = mode === "matmul" ? PRODUCTS_PER_WAIT : 1;
for (const [c, [name]] of checkouts[0].entries()) {
  const runs = checkouts.map((cases) => cases[c][1]);
  // The first run compiles the pipelines (and creates a step's AdamW moments): not timed. Its outputs are
  // compared on their own: a step's first loss is the same forward's on both, the later ones follow weights
  // that two backwards may have updated in a different order of rounding.
  const first = [];
  for (const run of runs) first.push(await run());
  const times = runs.map(() => ({
    wall: [] as number[],
    cpu: [] as number[],
    outputs: [] as (Float32Array | number)[],
  }));
  // ABBA: the checkouts swap places every turn, as the one that runs second in a turn has read up to 8 %
  // less CPU time than its twin (a step of the same code measured both ways round, 12-07 12:26Z and 12:54Z).
  for (let r = 0; r < reps; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const run = runs[i];
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      times[i].outputs.push(await run());
      times[i].wall.push((performance.now() - wall0) / perRun);
      const cpu = process.cpuUsage(cpu0);
      times[i].cpu.push((cpu.user + cpu.system) / 1000 / perRun);
    }
  }
  const digits = mode === "matmul" ? 1 : 0;
  for (const [i, root] of roots.entries()) {
    const t = times[i];
    console.log(
      `${root}: ${name} wall ${median(t.wall).toFixed(digits)} ms, CPU ${median(t.cpu).toFixed(digits)} ms ` +
        `(wall ${t.wall.map((v) => v.toFixed(digits)).join(", ")})`,
    );
  }
  const same = times[0].outputs.every((a, r) => equal(a, times[1].outputs[r]));
  console.log(`first outputs ${equal(first[0], first[1]) ? "identical" : "differ"}`);
  if (mode === "step") console.log(`losses: ${times.map((t) => t.outputs.join(", ")).join(" | ")}`);
  console.log(same ? "outputs identical" : "outputs differ");
}
