/**
 * `--preview N`: reads the first N completed frames of a set back (through the same readers a user would)
 * next to their sources, and writes `preview.png`.
 */
import { join } from "node:path";
import { readPng, writePng } from "../io/png.ts";
import { adapterFor } from "../data/adapters.ts";
import type { DatasetName } from "../data/datasets.ts";
import type { ManifestRecord } from "./job.ts";
import { exists, recordPath } from "./manifest.ts";
import { type FrameRef, maskPath } from "../data/frame_paths.ts";
import { contactSheet, type PreviewRow } from "./preview.ts";

export async function writePreview(
  dataset: DatasetName,
  root: string,
  out: string,
  frames: readonly FrameRef[],
  count: number,
): Promise<string> {
  const adapter = adapterFor(dataset);
  const rows: PreviewRow[] = [];
  for (const ref of frames) {
    if (rows.length >= count) break;
    if (!(await exists(recordPath(out, ref)))) continue;
    const before = await adapter.read(root, ref);
    const after = await adapter.read(out, ref);
    const mask = (await readPng(join(out, maskPath(ref)))).data as Uint8Array;
    const record = JSON.parse(await Deno.readTextFile(recordPath(out, ref))) as ManifestRecord;
    rows.push({
      label: rowLabel(record),
      rgb: after.rgb,
      before: before.depth,
      beforeValid: before.valid,
      after: after.depth,
      afterValid: after.valid,
      mask,
    });
  }
  const path = join(out, "preview.png");
  await writePng(path, contactSheet(rows));
  return path;
}

/** "<frame> · train · art 12.0 % from <frame or picture>, negative 3.1 %" (a clean frame says so). */
export function rowLabel(record: ManifestRecord): string {
  const regions = record.regions.map((r) => {
    const from = r.source && (r.source.type === "frame" || r.source.type === "pool")
      ? ` from ${r.source.name}`
      : "";
    return `${r.label} ${(100 * r.area).toFixed(1)} %${from}`;
  });
  return [record.id, record.split, regions.length ? regions.join(", ") : "clean"].filter(Boolean).join(" · ");
}
