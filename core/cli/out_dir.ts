/**
 * The output folder, checked before any work: a run that reads for an hour and then finds it cannot write
 * has wasted the hour, and one that writes into its own input destroys it. So `--out` must be creatable, a
 * folder (not a file), writable, and neither one of the run's inputs nor inside one (where the next listing
 * of that input would also read the outputs).
 */
import { dirname, join, relative, resolve } from "node:path";
import { TrompeError } from "../errors.ts";

export interface RunInput {
  /** The flag that named it, for the message: "--root". */
  flag: string;
  path: string;
}

/** The path with symbolic links resolved as far as it exists (so /data/link/x and /data/real/x compare equal). */
async function realPathOf(path: string): Promise<string> {
  const missing: string[] = [];
  let at = resolve(path);
  while (true) {
    try {
      return join(await Deno.realPath(at), ...missing.reverse());
    } catch {
      const parent = dirname(at);
      if (parent === at) return resolve(path);
      missing.push(at.slice(parent.length).replace(/^\//, ""));
      at = parent;
    }
  }
}

/** True when `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
}

async function isDirectory(path: string): Promise<boolean | null> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return null;
  }
}

/** Creates `--out` (or accepts the existing folder) after checking it against the run's inputs; throws one clear error. */
export async function prepareOutDir(out: string, inputs: readonly RunInput[] = []): Promise<string> {
  const real = await realPathOf(out);
  for (const input of inputs) {
    const inputReal = await realPathOf(input.path);
    if (within(real, inputReal) && await isDirectory(inputReal)) {
      throw new TrompeError(
        "bad-argument",
        real === inputReal
          ? `is ${input.flag} itself: the run would write over its own input`
          : `is inside ${input.flag} ${input.path}: the run would write into its own input`,
        { subject: "--out", hint: "choose an --out outside the input" },
      );
    }
  }
  if (await isDirectory(out) === false) {
    throw new TrompeError("bad-argument", `${out} is a file, not a folder`, {
      subject: "--out",
      hint: "name a folder (it is created if missing)",
    });
  }
  try {
    await Deno.mkdir(out, { recursive: true });
  } catch (error) {
    throw outError(error, out, "cannot create the folder");
  }
  // Permissions are checked by writing, the one test that also covers read-only mounts and full quotas.
  const probe = join(out, `.trompe-write-check-${Deno.pid}`);
  try {
    await Deno.writeFile(probe, new Uint8Array(1));
    await Deno.remove(probe);
  } catch (error) {
    throw outError(error, out, "cannot write into the folder");
  }
  return out;
}

function outError(error: unknown, out: string, what: string): TrompeError {
  const reason = error instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : error instanceof Deno.errors.AlreadyExists || error instanceof Deno.errors.NotADirectory
    ? "a file stands where a folder must be"
    : error instanceof Deno.errors.NotFound
    ? "its parent cannot hold new folders"
    : error instanceof Error
    ? error.message
    : String(error);
  return new TrompeError("io", `${what} ${out}: ${reason}`, {
    subject: "--out",
    hint: "choose an --out you can write to",
    cause: error,
  });
}
