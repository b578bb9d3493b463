/**
 * Hypersim's per-scene cameras. Most scenes are a plain pinhole, but some have a shifted principal point or a
 * tilt-shift lens, so exact planar depth needs each scene's `M_cam_from_uv` (camera-space ray from NDC pixel
 * coordinates). trompe ships the 9 numbers per scene in `hypersim_cameras.json`, derived from Hypersim's
 * `metadata_camera_parameters.csv` (CC BY-SA 3.0, Roberts et al., ICCV 2021) by `compactCameraTable` below:
 *
 *   deno run -A core/data/hypersim_cameras.ts path/to/metadata_camera_parameters.csv
 *   deno fmt core/data/hypersim_cameras.json
 *
 * A user may also pass their own CSV to `readCameraCsv`.
 */
import { join } from "node:path";
import { TrompeError } from "../errors.ts";
import { readFileNamed, writeTextFileAtomic } from "../io/atomic.ts";
import shipped from "./hypersim_cameras.json" with { type: "json" };

/** Row-major 3×3 `M_cam_from_uv`: `[x, y, z]ᵀ = M · [u, v, 1]ᵀ`, camera looking along −z. */
export type CameraMatrix = readonly number[];

export type CameraTable = ReadonlyMap<string, CameraMatrix>;

export const M_COLUMNS = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => `M_cam_from_uv_${i}${j}`));

/** One CSV line's cells: commas inside double quotes (Hypersim's `"AColor(0, 0, 0, 0)"`) do not split. */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted && ch === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (ch === "," && !quoted) {
      cells.push(cell);
      cell = "";
    } else {
      cell += ch;
    }
  }
  cells.push(cell);
  return cells;
}

/** Parses Hypersim's camera CSV (all of its columns, or the compact ones) into scene → M_cam_from_uv. */
export function parseCameraCsv(text: string, source: string): Map<string, CameraMatrix> {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const header = splitCsvLine(lines[0] ?? "");
  const sceneColumn = header.indexOf("scene_name");
  const columns = M_COLUMNS.map((name) => header.indexOf(name));
  if (sceneColumn < 0 || columns.some((c) => c < 0)) {
    throw new TrompeError("corrupt", "no scene_name and M_cam_from_uv_00..22 columns", {
      subject: source,
      hint: "pass Hypersim's metadata_camera_parameters.csv",
    });
  }
  const table = new Map<string, CameraMatrix>();
  for (let n = 1; n < lines.length; n++) {
    const cells = splitCsvLine(lines[n]);
    // + 0 turns the CSV's -0.0 into 0, as JSON stores it, so the shipped table and a CSV agree exactly
    const m = columns.map((c) => Number.parseFloat(cells[c]) + 0);
    if (m.some((v) => !Number.isFinite(v))) {
      throw new TrompeError("corrupt", `line ${n + 1}: M_cam_from_uv is not 9 numbers`, { subject: source });
    }
    table.set(cells[sceneColumn], m);
  }
  return table;
}

export async function readCameraCsv(path: string): Promise<Map<string, CameraMatrix>> {
  return parseCameraCsv(new TextDecoder().decode(await readFileNamed(path)), path);
}

interface ShippedTable {
  scenes: Record<string, number[]>;
}

/** The table trompe ships (every scene of Hypersim's public release). */
export const HYPERSIM_CAMERAS: CameraTable = new Map(Object.entries((shipped as ShippedTable).scenes));

/** A scene's camera, or a TrompeError saying where to get one. */
export function sceneCamera(scene: string, table: CameraTable = HYPERSIM_CAMERAS): CameraMatrix {
  const m = table.get(scene);
  if (!m) {
    throw new TrompeError("not-found", `no camera parameters for Hypersim scene '${scene}'`, {
      subject: scene,
      hint: "pass Hypersim's metadata_camera_parameters.csv (readCameraCsv) or use planar: 'official'",
    });
  }
  return m;
}

/** The table trompe ships (`hypersim_cameras.json`, then `deno fmt`), from the full CSV's text. */
export function compactCameraTable(csvText: string, source: string) {
  return {
    source:
      "metadata_camera_parameters.csv from https://github.com/apple/ml-hypersim (columns M_cam_from_uv_*)",
    license: "CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)",
    attribution: "Roberts et al., Hypersim: A Photorealistic Synthetic Dataset for Holistic Indoor Scene " +
      "Understanding, ICCV 2021",
    columns: M_COLUMNS,
    scenes: Object.fromEntries(parseCameraCsv(csvText, source)),
  };
}

if (import.meta.main) {
  const [csv] = Deno.args;
  const text = new TextDecoder().decode(await readFileNamed(csv));
  const json = JSON.stringify(compactCameraTable(text, csv), null, 2);
  await writeTextFileAtomic(join(import.meta.dirname!, "hypersim_cameras.json"), json + "\n");
}
