/**
 * `deno task info` from the command line: the adapter report, a matmul figure whose GFLOP/s is the shape's
 * work over its time, and bad flags refused with one line (exit 2) before the adapter is opened.
 */
import assert from "node:assert/strict";
import { runTaskFile } from "../shared.ts";

Deno.test("deno task info: adapter, backend, features, limits, and a matmul line whose GFLOP/s adds up", async () => {
  const run = await runTaskFile("info", ["--shape", "64x96x32"]);
  assert.equal(run.code, 0, run.stderr);
  for (const label of ["adapter:", "backend:", "features:", "limits (device / trompe's minimum):"]) {
    assert.ok(run.stdout.split("\n").some((l) => l.startsWith(label)), `${label}\n${run.stdout}`);
  }
  // Every limit trompe requires is printed beside the device's, and the device meets it.
  const limits = [...run.stdout.matchAll(/^\s+(max\w+)\s+([\d.]+)\s*(\w*)\s+\(([\d.]+)\s*(\w*)\)$/gm)];
  assert.ok(limits.length >= 5, run.stdout);
  const bytes = (v: string, unit: string) =>
    Number(v) * ({ KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[unit] ?? 1);
  for (const [, name, have, haveUnit, need, needUnit] of limits) {
    assert.ok(
      bytes(have, haveUnit) >= bytes(need, needUnit),
      `${name}: ${have} ${haveUnit} < ${need} ${needUnit}`,
    );
  }
  const matmul = run.stdout.match(
    /^matmul:\s+64×96×32 A·Bᵀ f32 ([\d.]+) ms, ([\d.]+) GFLOP\/s \((CPU path|GPU \w+)/m,
  );
  assert.ok(matmul, run.stdout);
  const [ms, gflops] = [Number(matmul[1]), Number(matmul[2])];
  const expected = (2 * 64 * 96 * 32) / (ms * 1e6);
  // Both are printed rounded (ms to 2 decimals, GFLOP/s to 1): allow that rounding, no more.
  const low = (2 * 64 * 96 * 32) / ((ms + 0.005) * 1e6),
    high = (2 * 64 * 96 * 32) / (Math.max(ms - 0.005, 1e-9) * 1e6);
  assert.ok(
    gflops >= low - 0.05 && gflops <= high + 0.05,
    `${gflops} GFLOP/s for ${ms} ms (expected ${expected})`,
  );
});

Deno.test("deno task info: a bad --shape or an unknown flag is one line and exit 2, before the adapter", async () => {
  for (
    const [args, message] of [
      [["--shape", "3x4"], /^error: bad-argument: --shape: expected MxNxK, e\.g\. 1370x4096x1024, got "3x4"/],
      [["--shape", "0x4x4"], /--shape: expected MxNxK/],
      [["--bogus"], /^error: bad-argument: --bogus: unknown option/],
      [["--shap", "3x4x5"], /^error: bad-argument: --shap: unknown option \(did you mean --shape\?/],
    ] as const
  ) {
    const run = await runTaskFile("info", [...args]);
    assert.equal(run.code, 2, `${args}: ${run.stderr}`);
    assert.equal(run.stdout, "", "nothing printed before the flags are checked");
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], message);
  }
  const help = await runTaskFile("info", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^deno task info \[--shape MxNxK\]/);
});
