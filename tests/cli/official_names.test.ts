/**
 * The shared flag parsing: the official scripts' names as aliases (only where the task has the flag they
 * stand for), official values, a flag given twice with two values, and "did you mean" for a typo.
 */
import assert from "node:assert/strict";
import { nearest, parseFlags } from "../../core/cli/flags.ts";
import { officialNamesHelp } from "../../core/cli/official_names.ts";
import { TrompeError } from "../../core/errors.ts";

const PREDICT = {
  input: { type: "string" },
  out: { type: "string" },
  weights: { type: "string" },
  cmap: { type: "string" },
  dataset: { type: "string" },
} as const;

function refusal(
  args: string[],
  options: Record<string, { type: "string" | "boolean" }> = PREDICT,
): TrompeError {
  try {
    parseFlags("predict", { args, options });
  } catch (error) {
    assert.ok(error instanceof TrompeError, String(error));
    assert.equal(error.code, "bad-argument");
    return error;
  }
  assert.fail(`${args.join(" ")} was accepted`);
}

Deno.test("official names: run.py's and train.py's flags and values become trompe's", () => {
  const { values } = parseFlags("predict", {
    args: [
      "--img-path",
      "a.jpg",
      "--outdir=out",
      "--load-from",
      "m.pth",
      "--grayscale",
      "--dataset",
      "vkitti",
    ],
    options: PREDICT,
  });
  assert.deepEqual({ ...values }, {
    input: "a.jpg",
    out: "out",
    weights: "m.pth",
    cmap: "gray",
    dataset: "vkitti2",
    // Every task's own, added by parseFlags.
    debug: false,
    help: false,
  });
});

Deno.test("official names: an alias applies only where the task has the flag it stands for", () => {
  const error = refusal(["--img-path", "a.jpg"], { out: { type: "string" } });
  assert.equal(error.subject, "--img-path");
  assert.match(error.message, /unknown option/);
});

Deno.test("official names: the same flag twice with two values is refused, naming both spellings", () => {
  const error = refusal(["--out", "a", "--outdir", "b"]);
  assert.equal(error.subject, "--out / --outdir");
  assert.match(error.message, /given twice with different values \("a", "b"\)/);
  // The same value twice is no ambiguity.
  assert.equal(
    parseFlags("predict", { args: ["--out", "a", "--outdir", "a"], options: PREDICT }).values.out,
    "a",
  );
});

Deno.test("unknown flags: a near one is suggested, an official one without equivalent is explained", () => {
  assert.match(refusal(["--wieghts", "m.pth"]).hint ?? "", /did you mean --weights\?/);
  assert.doesNotMatch(refusal(["--colour", "x"]).hint ?? "", /did you mean/);
  assert.match(refusal(["--pred-only"]).hint ?? "", /trompe's default; --side-by-side/);
  assert.equal(nearest("epoch", ["epochs", "lr"]), "epochs");
  assert.equal(nearest("learning-rate", ["epochs", "lr"]), undefined);
});

Deno.test("official names: --help lists those a task accepts, and nothing for a task without any", () => {
  const help = officialNamesHelp(PREDICT);
  assert.match(help, /--img-path +is --input \(run\.py, depth_to_pointcloud\.py\)/);
  assert.match(help, /--grayscale +is --cmap gray/);
  assert.match(help, /--dataset vkitti +is --dataset vkitti2 \(train\.py\)/);
  assert.doesNotMatch(help, /--bs/);
  assert.equal(officialNamesHelp({ shape: { type: "string" } }), "");
});
