/**
 * How every task ends: a TrompeError (or anything else thrown) becomes one clear line on stderr and a
 * non-zero exit; the stack trace only with --debug.
 */
import { TrompeError } from "../errors.ts";
import { onGpuAcquired } from "../gpu/device.ts";
import { adapterLine } from "./gpu_info.ts";

/** Every run that computes says on what, and warns when that is the CPU while a GPU is there. */
function announceDevice(): void {
  onGpuAcquired((ctx) => {
    console.log(adapterLine(ctx.summary));
    for (const warning of ctx.warnings) console.error(`warning: ${warning}`);
  });
}

export async function runTask(main: () => Promise<void>, args: readonly string[] = Deno.args): Promise<void> {
  announceDevice();
  try {
    await main();
  } catch (error) {
    const debug = args.includes("--debug");
    if (error instanceof TrompeError) {
      console.error(`error: ${error.oneLine()}`);
      if (debug) console.error(error.stack, error.cause ?? "");
      Deno.exit(error.code === "bad-argument" ? 2 : 1);
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message}${debug ? "" : " (run with --debug for the stack trace)"}`);
    if (debug && error instanceof Error) console.error(error.stack);
    Deno.exit(1);
  }
}
