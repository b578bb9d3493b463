import assert from "node:assert/strict";
import { resolve } from "node:path";
import { floatFlag, intFlag, modelFlags, parseFlags } from "../../core/cli/flags.ts";
import { TrompeError } from "../../core/errors.ts";

/** The error `work` throws, which must be a TrompeError naming `flag`. */
function flagError(work: () => unknown, flag: string): TrompeError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof TrompeError, String(error));
    assert.equal(error.code, "bad-argument");
    assert.equal(error.subject, flag);
    return error;
  }
  assert.fail(`no error for ${flag}`);
}

Deno.test("modelFlags: --config resolved, --head checked, --max-depth a number; absent flags stay undefined", () => {
  assert.deepEqual(modelFlags({}), { configFile: undefined, head: undefined, maxDepth: undefined });
  assert.deepEqual(modelFlags({ config: "m.json", head: "relative", "max-depth": "80" }), {
    configFile: resolve("m.json"),
    head: "relative",
    maxDepth: 80,
  });
  assert.match(
    flagError(() => modelFlags({ head: "metirc" }), "--head").message,
    /not one of metric, relative/,
  );
  assert.match(flagError(() => modelFlags({ "max-depth": "deep" }), "--max-depth").message, /not a number/);
});

Deno.test("intFlag and floatFlag: fallbacks, bounds, and errors naming the flag", () => {
  assert.equal(intFlag(undefined, "--steps", 7), 7);
  assert.equal(intFlag("3", "--steps", 7, 1), 3);
  flagError(() => intFlag("0", "--steps", 7, 1), "--steps");
  flagError(() => intFlag("2.5", "--steps", 7), "--steps");
  assert.equal(floatFlag("1e-4", "--lr"), 1e-4);
  assert.equal(floatFlag(undefined, "--lr"), undefined);
});

Deno.test("parseFlags: an unknown flag is a bad-argument error pointing at the task's help", () => {
  try {
    parseFlags("train", { args: ["--lr", "1", "--bogus"], options: { lr: { type: "string" } } });
    assert.fail("no error");
  } catch (error) {
    assert.ok(error instanceof TrompeError);
    assert.equal(error.code, "bad-argument");
    assert.match(error.hint ?? "", /deno task train --help/);
  }
});
