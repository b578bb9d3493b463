/**
 * safetensors files: read whole and parsed, or serialised and written atomically. The format itself (bytes in,
 * bytes out, nothing Deno-only) is core/io/safetensors_format.ts, which this module re-exports so a Deno caller
 * finds the whole API in one place.
 */
import { readFileNamed, writeFileAtomic } from "./atomic.ts";
import {
  parseSafetensors,
  type SafetensorsFile,
  serializeSafetensors,
  type TensorToWrite,
} from "./safetensors_format.ts";

export {
  DTYPE_BYTES,
  parseSafetensors,
  type SafetensorsDType,
  SafetensorsFile,
  serializeSafetensors,
  type StoredTensor,
  type TensorData,
  type TensorToWrite,
} from "./safetensors_format.ts";

/** Reads and parses a .safetensors file (tensors are views into the file's bytes where aligned). */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readFileNamed(path), path);
}

/** Writes tensors (contiguous, in the given order) and string metadata to `path`, atomically. */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  return writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
