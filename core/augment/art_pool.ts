/**
 * The `--art` folder: its JPEG/PNG files in a stable order (a paste's index into them is drawn from the seed),
 * and their check when the pool is opened. A file that cannot be decoded would otherwise fail whichever good
 * frames happened to draw it, each as a reject blaming the frame; an empty folder would read as no folder.
 */
import { join } from "node:path";
import { asTrompeError, TrompeError } from "../errors.ts";
import { readImageRgb } from "../io/image.ts";
import type { RasterU8 } from "../io/raster.ts";

/** Image files of a pool folder (JPEG/PNG by extension), sorted so indices are stable. */
export function listPool(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && /\.(jpe?g|png)$/i.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    throw new TrompeError("not-found", "cannot read the art folder", { subject: dir, cause: error });
  }
}

/** Decodes every file of the pool once, before any frame; throws naming the first that fails, or an empty pool. */
export async function checkPool(dir: string): Promise<number> {
  const files = listPool(dir);
  if (files.length === 0) {
    throw new TrompeError("empty", "the art folder holds no JPEG or PNG image", {
      subject: dir,
      hint: "--art wants a folder of .jpg/.jpeg/.png files",
    });
  }
  for (const name of files) await readPoolImage(dir, name);
  return files.length;
}

/** One picture of a pool, decoded; a failure names the file as the art image it is, and what to do. */
export async function readPoolImage(dir: string, name: string): Promise<RasterU8> {
  try {
    return await readImageRgb(join(dir, name));
  } catch (error) {
    const e = asTrompeError(error, join(dir, name));
    throw new TrompeError(e.code, `art image ${e.message}`, {
      subject: e.subject ?? join(dir, name),
      hint: "remove or replace it: every frame that drew it would fail",
      cause: error,
    });
  }
}
