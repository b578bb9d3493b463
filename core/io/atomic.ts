/**
 * Atomic writes: every output goes to a temporary name in the same directory and is renamed when complete,
 * so a killed run never leaves a half-written file under the final name.
 */
import { dirname } from "node:path";
import { asTrompeError } from "../errors.ts";

// Workers are threads of one process, each with its own copy of this module: counters that all started at 0
// would give two workers writing the same file (vKITTI2's intrinsic.txt, copied with every frame) the same
// temporary name, and one rename would fail. A random start per module keeps the names apart (and digits only,
// the `name.tmp-PID-N` form that resume recognises).
let counter = crypto.getRandomValues(new Uint32Array(1))[0] * 1024;

/** A temporary name beside `path`, unique across this process's workers, for a write renamed when complete. */
export function temporaryName(path: string): string {
  counter += 1;
  return `${path}.tmp-${Deno.pid}-${counter}`;
}

export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = temporaryName(path);
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw asTrompeError(error, path);
  }
}

export function writeTextFileAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Reads a whole file, turning a missing file into a TrompeError that names it. */
export async function readFileNamed(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw asTrompeError(error, path);
  }
}
