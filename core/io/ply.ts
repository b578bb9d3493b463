/**
 * PLY point clouds (Stanford polygon format), the format CloudCompare, MeshLab and Open3D all read: vertices
 * with float32 x, y, z, uchar red, green, blue, and any number of extra per-vertex scalar fields (CloudCompare
 * shows them as scalar fields). Binary little-endian by default (compact, exact); ASCII on request.
 */
import { TrompeError } from "../errors.ts";
import { writeFileAtomic } from "./atomic.ts";

export interface PointCloud {
  /** x, y, z per point. */
  readonly positions: Float32Array;
  /** r, g, b per point; omitted: no colour properties. */
  readonly colors?: Uint8Array;
  /** Extra per-point fields by name, stored as float32. */
  readonly scalars?: Readonly<Record<string, Float32Array>>;
}

export type PlyFormat = "binary_little_endian" | "ascii";

function check(cloud: PointCloud): number {
  const n = cloud.positions.length / 3;
  if (!Number.isInteger(n)) {
    throw new TrompeError("shape-mismatch", `PLY: ${cloud.positions.length} position values is not 3 per point`);
  }
  if (cloud.colors && cloud.colors.length !== 3 * n) {
    throw new TrompeError("shape-mismatch", `PLY: ${cloud.colors.length} colour values for ${n} points`);
  }
  for (const [name, values] of Object.entries(cloud.scalars ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new TrompeError("bad-argument", `PLY: "${name}" is not a valid property name`);
    }
    if (values.length !== n) {
      throw new TrompeError("shape-mismatch", `PLY: scalar ${name} has ${values.length} values for ${n} points`);
    }
  }
  return n;
}

export function encodePly(cloud: PointCloud, format: PlyFormat = "binary_little_endian"): Uint8Array {
  const n = check(cloud);
  const scalars = Object.entries(cloud.scalars ?? {});
  const header = [
    "ply",
    `format ${format} 1.0`,
    "comment written by trompe",
    `element vertex ${n}`,
    "property float x",
    "property float y",
    "property float z",
    ...(cloud.colors ? ["property uchar red", "property uchar green", "property uchar blue"] : []),
    ...scalars.map(([name]) => `property float ${name}`),
    "end_header",
    "",
  ].join("\n");
  const head = new TextEncoder().encode(header);
  const { positions, colors } = cloud;
  if (format === "ascii") {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const fields = [positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]].map(String);
      if (colors) fields.push(String(colors[3 * i]), String(colors[3 * i + 1]), String(colors[3 * i + 2]));
      for (const [, values] of scalars) fields.push(String(values[i]));
      lines.push(fields.join(" "));
    }
    const body = new TextEncoder().encode(lines.join("\n") + (n ? "\n" : ""));
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  }
  const stride = 12 + (colors ? 3 : 0) + 4 * scalars.length;
  const out = new Uint8Array(head.length + stride * n);
  out.set(head);
  const view = new DataView(out.buffer, head.length);
  for (let i = 0; i < n; i++) {
    let o = i * stride;
    for (let c = 0; c < 3; c++, o += 4) view.setFloat32(o, positions[3 * i + c], true);
    if (colors) for (let c = 0; c < 3; c++) view.setUint8(o++, colors[3 * i + c]);
    for (const [, values] of scalars) {
      view.setFloat32(o, values[i], true);
      o += 4;
    }
  }
  return out;
}

export async function writePly(path: string, cloud: PointCloud, format?: PlyFormat): Promise<void> {
  await writeFileAtomic(path, encodePly(cloud, format));
}
