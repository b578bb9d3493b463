/**
 * The images a predict run reads: one image, a folder searched recursively, or a split file's RGB column, each
 * with the output name that keeps its folder structure (so two `frame.jpg` in different folders never clash).
 */
import { basename, extname, join, relative } from "node:path";
import { readSplitFile } from "../data/splits.ts";
import { asTrompeError } from "../errors.ts";

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png"]);

export interface PredictItem {
  path: string;
  /** Output base name relative to the output folder, without extension. */
  name: string;
}

async function listImages(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await listImages(path));
    else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
  }
  return found.sort();
}

/** Every image under `input`; a split file's relative paths start from `root`. */
export async function listPredictInputs(input: string, root: string): Promise<PredictItem[]> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(input);
  } catch (error) {
    throw asTrompeError(error, input);
  }
  const strip = (p: string) => p.slice(0, p.length - extname(p).length);
  if (stat.isDirectory) {
    return (await listImages(input)).map((path) => ({ path, name: strip(relative(input, path)) }));
  }
  if (IMAGE_EXTENSIONS.has(extname(input).toLowerCase())) {
    return [{ path: input, name: strip(basename(input)) }];
  }
  const lines = await readSplitFile(input, { root, check: false });
  return lines.map((l) => ({
    path: l.rgbPath,
    name: strip(relative(root, l.rgbPath)).replaceAll("..", "_"),
  }));
}
