/**
 * Coloured point clouds as binary little-endian PLY (x, y, z float32; red, green, blue uint8), the layout
 * CloudCompare, MeshLab and Open3D read directly. Bytes only, so a browser writes them too; files are
 * core/io/ply.ts's.
 */
import { TrompeError } from "../errors.ts";

/** Points with colours, as `encodePly` writes them. */
export interface PointCloud {
  /** x, y, z per point. */
  positions: Float32Array;
  /** r, g, b per point. */
  colors: Uint8Array;
}

/** A binary little-endian PLY file's bytes for a coloured point cloud. */
export function encodePly(cloud: PointCloud): Uint8Array {
  const n = cloud.positions.length / 3;
  if (!Number.isInteger(n) || cloud.colors.length !== n * 3) {
    throw new TrompeError(
      "shape-mismatch",
      `point cloud: ${cloud.positions.length} coordinates, ${cloud.colors.length} colour values`,
    );
  }
  const header = new TextEncoder().encode(
    "ply\nformat binary_little_endian 1.0\ncomment written by trompe\n" +
      `element vertex ${n}\nproperty float x\nproperty float y\nproperty float z\n` +
      "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n",
  );
  const stride = 15;
  const out = new Uint8Array(header.length + n * stride);
  out.set(header);
  const view = new DataView(out.buffer, header.length);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      view.setFloat32(i * stride + 4 * c, cloud.positions[3 * i + c], true);
      view.setUint8(i * stride + 12 + c, cloud.colors[3 * i + c]);
    }
  }
  return out;
}
