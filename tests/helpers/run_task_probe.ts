/**
 * Run by tests/cli/main.test.ts (not a test file itself): ends through core/cli/main.ts's runTask the way
 * its first argument says, so the exit status and stderr a task gives for each kind of failure can be
 * watched from outside.
 */
import { runTask } from "../../core/cli/main.ts";
import { TrompeError } from "../../core/errors.ts";

const mode = Deno.args[0];
await runTask(() => {
  if (mode === "bad-argument") {
    throw new TrompeError("bad-argument", "must be positive", { subject: "--lr", hint: "try 5e-6" });
  }
  if (mode === "not-found") throw new TrompeError("not-found", "no such file", { subject: "/data/x.pth" });
  if (mode === "crash") throw new RangeError("index 7 out of range");
  console.log("fine");
  return Promise.resolve();
});
