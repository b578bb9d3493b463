/**
 * The rules that keep a missing ../shared from passing silently (tests/shared.ts) and CI's summary line
 * (.ci/run), watched from outside: tests/helpers/shared_probe.ts run against made-up ../shared folders, and
 * .ci/run run with a stand-in `npx` that prints a canned Deno summary.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dirname!, "..");
const PROBE = join(REPO, "tests/helpers/shared_probe.ts");

interface Probe {
  code: number;
  out: string;
  passed: number;
  failed: number;
  ignored: number;
}

async function runProbe(shared: string, require: boolean): Promise<Probe> {
  // Set either way: the test run itself may have been started with TROMPE_REQUIRE_SHARED=1 (.ci/run).
  const env = { TROMPE_SHARED: shared, TROMPE_REQUIRE_SHARED: require ? "1" : "0", NO_COLOR: "1" };
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--config", join(REPO, "deno.json"), PROBE],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  // Deno leaves "0 ignored" out of its summary.
  const count = (what: string) => Number(out.match(new RegExp(`\\| (\\d+) ${what}`))?.[1] ?? 0);
  return {
    code: result.code,
    out,
    passed: count("passed"),
    failed: count("failed"),
    ignored: count("ignored"),
  };
}

/** A stand-in ../shared holding the named folders. */
async function fakeShared(folders: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "trompe-shared-" });
  for (const f of folders) await Deno.mkdir(join(dir, f));
  return dir;
}

Deno.test("no ../shared: both kinds of shared test skip, with one line naming what is absent", async () => {
  const dir = await fakeShared([]);
  const got = await runProbe(dir, false);
  assert.equal(got.code, 0, got.out);
  assert.deepEqual([got.passed, got.failed, got.ignored], [0, 0, 2], got.out);
  assert.equal(got.out.match(/skipping tests on /g)?.length, 1, got.out);
  assert.match(got.out, new RegExp(`skipping tests on ${join(dir, "reference")}: it is absent`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TROMPE_REQUIRE_SHARED=1 and no ../shared/reference: the shared tests fail, saying why", async () => {
  const dir = await fakeShared(["formats", "data"]);
  const got = await runProbe(dir, true);
  assert.notEqual(got.code, 0);
  assert.deepEqual([got.passed, got.failed, got.ignored], [0, 2, 0], got.out);
  assert.match(got.out, /reference is absent, and TROMPE_REQUIRE_SHARED=1 says it must be there/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("only ../shared/data absent: its tests skip with one line, even where ../shared is required", async () => {
  const dir = await fakeShared(["reference", "formats"]);
  for (const require of [false, true]) {
    const got = await runProbe(dir, require);
    assert.equal(got.code, 0, got.out);
    assert.deepEqual([got.passed, got.failed, got.ignored], [1, 0, 1], got.out);
    assert.match(got.out, new RegExp(`skipping tests on ${join(dir, "data")}: it is absent`));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the whole of ../shared present: both tests run", async () => {
  const dir = await fakeShared(["reference", "formats", "data"]);
  const got = await runProbe(dir, true);
  assert.equal(got.code, 0, got.out);
  assert.deepEqual([got.passed, got.failed, got.ignored], [2, 0, 0], got.out);
  assert.doesNotMatch(got.out, /skipping/);
  await Deno.remove(dir, { recursive: true });
});

/**
 * Runs .ci/run with `npx` replaced by a script: `deno task test` prints `summary` and exits `code`, `deno task
 * check` exits `checkCode`.
 */
async function runCi(
  summary: string,
  code: number,
  checkCode = 0,
): Promise<{ code: number; lines: string[] }> {
  const bin = await Deno.makeTempDir({ prefix: "trompe-ci-" });
  // npx -y deno@2.9.6 task NAME: the task is the fourth argument.
  await Deno.writeTextFile(
    join(bin, "npx"),
    `#!/usr/bin/env bash\nif [ "$4" = check ]; then exit ${checkCode}; fi\n` +
      `echo "TROMPE_REQUIRE_SHARED=\${TROMPE_REQUIRE_SHARED:-unset}"\necho '${summary}'\nexit ${code}\n`,
  );
  await Deno.chmod(join(bin, "npx"), 0o755);
  const result = await new Deno.Command("bash", {
    args: [join(REPO, ".ci/run")],
    env: { PATH: `${bin}:${Deno.env.get("PATH")}`, DENO_WEBGPU_BACKEND: "vulkan", TROMPE_REQUIRE_SHARED: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(bin, { recursive: true });
  const lines = new TextDecoder().decode(result.stdout).trim().split("\n");
  return { code: result.code, lines };
}

Deno.test(".ci/run ends with N passed, N failed, N skipped, and fails on failures", async () => {
  // `deno task check` counts as one more test: passed here unless said otherwise.
  const green = await runCi("ok | 290 passed (12 steps) | 0 failed | 3 ignored (4m2s)", 0);
  assert.equal(green.lines.at(-1), "291 passed, 0 failed, 3 skipped");
  assert.equal(green.code, 0);
  const red = await runCi("FAILED | 288 passed | 2 failed | 0 ignored (4m2s)", 1);
  assert.equal(red.lines.at(-1), "289 passed, 2 failed, 0 skipped");
  assert.notEqual(red.code, 0);
  const broken = await runCi("error: Type checking failed.", 1);
  assert.equal(broken.lines.at(-1), "1 passed, 1 failed, 0 skipped");
  assert.notEqual(broken.code, 0);
  const unchecked = await runCi("ok | 290 passed | 0 failed | 3 ignored (4m2s)", 0, 1);
  assert.equal(unchecked.lines.at(-1), "290 passed, 1 failed, 3 skipped");
  assert.notEqual(unchecked.code, 0);
});

Deno.test(".ci/run requires the shared tests to run exactly when ../shared is beside the repo", async () => {
  const got = await runCi("ok | 1 passed | 0 failed (1s)", 0);
  const beside = await Deno.stat(join(REPO, "../shared")).then((s) => s.isDirectory, () => false);
  assert.ok(got.lines.includes(`TROMPE_REQUIRE_SHARED=${beside ? "1" : "unset"}`), got.lines.join("\n"));
});
