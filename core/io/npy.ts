/**
 * NumPy `.npy` files: read whole and parsed, or serialised and written atomically. The format itself (bytes in,
 * bytes out, nothing Deno-only) is core/io/npy_format.ts, which this module re-exports so a Deno caller finds
 * the whole API in one place.
 */
import { readFileNamed, writeFileAtomic } from "./atomic.ts";
import { type NpyArray, type NpyData, parseNpy, serializeNpy } from "./npy_format.ts";

export {
  type NpyArray,
  type NpyData,
  type NpyDType,
  npyDType,
  npyHeader,
  parseNpy,
  serializeNpy,
} from "./npy_format.ts";

/** Reads an .npy file. */
export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readFileNamed(path), path);
}

/** Writes an .npy file atomically (NumPy's `np.load` reads it as is). */
export async function writeNpy(path: string, data: NpyData, shape: readonly number[]): Promise<void> {
  await writeFileAtomic(path, serializeNpy(data, shape));
}
