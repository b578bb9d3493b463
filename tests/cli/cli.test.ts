/**
 * core/cli beyond its flags: how a task ends (runTask: one line, exit 2 for a bad argument, 1 otherwise,
 * the stack only with --debug), the progress lines (a redrawn bar on a TTY, rate-limited plain lines
 * elsewhere, the summary with failures) and the run record every writing task leaves.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { Progress } from "../../core/cli/progress.ts";
import { writeRunRecord } from "../../core/cli/record.ts";
import { TROMPE_VERSION } from "../../core/version.ts";

const PROBE = resolve(import.meta.dirname!, "../helpers/run_task_probe.ts");

async function endWith(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PROBE, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("runTask: a bad argument exits 2, another TrompeError 1, each as one line with subject and hint", async () => {
  const bad = await endWith("bad-argument");
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "error: bad-argument: --lr: must be positive (try 5e-6)\n");
  const missing = await endWith("not-found");
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "error: not-found: /data/x.pth: no such file\n");
  const fine = await endWith("fine");
  assert.equal(fine.code, 0);
  assert.equal(fine.stdout, "fine\n");
  assert.equal(fine.stderr, "");
});

Deno.test("runTask: an unexpected error is one line pointing at --debug, which prints the stack", async () => {
  const crash = await endWith("crash");
  assert.equal(crash.code, 1);
  assert.equal(crash.stderr, "error: index 7 out of range (run with --debug for the stack trace)\n");
  const debug = await endWith("crash", "--debug");
  assert.equal(debug.code, 1);
  const lines = debug.stderr.trim().split("\n");
  assert.equal(lines[0], "error: index 7 out of range");
  assert.ok(lines.some((l) => /^\s+at .*run_task_probe\.ts/.test(l)), debug.stderr);
  const trompeDebug = await endWith("not-found", "--debug");
  assert.ok(trompeDebug.stderr.split("\n").length > 2, "a TrompeError's stack with --debug too");
});

Deno.test("progress on a TTY: one redrawn line with a bar in proportion, then the summary", () => {
  const written: string[] = [];
  const p = new Progress("train", 8, { tty: true, unit: "steps", write: (t) => written.push(t) });
  p.tick(); // the first tick draws (the last draw was long ago)
  p.status = "loss 0.5000";
  p.tick(3);
  p.tick(3, true);
  p.tick(); // the last always draws
  const last = written.filter((t) => t.startsWith("\r")).at(-1)!;
  // 1 of 8 done: 3 of the bar's 24 cells filled.
  const first = `\rtrain [${"#".repeat(3)}${"-".repeat(21)}] 1/8 steps (`;
  assert.ok(written[0].startsWith(first), JSON.stringify(written[0]));
  // The line ends by clearing what a longer earlier line left (ESC [K).
  assert.ok(last.endsWith("\x1b[K"), JSON.stringify(last));
  assert.match(
    last.slice(0, -3),
    /^\rtrain \[#{24}\] 8\/8 steps \([\d.]+\/s, ETA 0s, 3 failed, loss 0\.5000\)$/,
  );
  const summary = p.finish();
  assert.equal(written.at(-1), "\n", "the bar's line is ended");
  assert.match(summary, /^train: 5\/8 steps done in \d+s \([\d.]+\/s, 3 failed\)$/);
  assert.equal(p.completed, 8);
  assert.equal(p.failures, 3);
});

Deno.test("progress elsewhere: plain lines, no bar or carriage return, at most one an interval", () => {
  const every: string[] = [];
  const p = new Progress("augment", 3, { tty: false, interval: 0, write: (t) => every.push(t) });
  for (let i = 0; i < 3; i++) p.tick();
  assert.equal(every.length, 3);
  assert.ok(every.every((l) => /^augment \d\/3 items \([\d.]+\/s, ETA \d+s\)\n$/.test(l)), every.join(""));
  p.finish();
  assert.equal(every.length, 3, "no extra newline when no bar was drawn");
  const hourly: string[] = [];
  const quiet = new Progress("augment", 1000, { tty: false, interval: 3600, write: (t) => hourly.push(t) });
  for (let i = 0; i < 1000; i++) quiet.tick();
  assert.ok(hourly.length <= 1, `${hourly.length} lines within an hour's interval`);
});

Deno.test("writeRunRecord: <task>.run.json with what was given, the versions and the time, written whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-record-" });
  try {
    const before = Date.now();
    const path = await writeRunRecord(dir, {
      task: "predict",
      inputs: { images: ["a.jpg"] },
      settings: { inputSize: 518 },
      results: { written: 1 },
      timings: { seconds: 1.5 },
      failures: 0,
    });
    assert.equal(path, join(dir, "predict.run.json"));
    const record = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(record.inputs, { images: ["a.jpg"] });
    assert.deepEqual(record.settings, { inputSize: 518 });
    assert.deepEqual(record.results, { written: 1 });
    assert.deepEqual(record.timings, { seconds: 1.5 });
    assert.equal(record.failures, 0);
    assert.equal(record.trompe, TROMPE_VERSION);
    assert.equal(record.deno, Deno.version.deno);
    const finished = Date.parse(record.finishedAt);
    assert.ok(finished >= before - 1000 && finished <= Date.now() + 1000, record.finishedAt);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["predict.run.json"], "no temporary file left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
