/**
 * Coloured point clouds as PLY files, written atomically; the format is core/io/ply_format.ts, re-exported
 * here so a Deno caller finds the whole API in one place.
 */
import { writeFileAtomic } from "./atomic.ts";
import { encodePly, type PointCloud } from "./ply_format.ts";

export { encodePly, type PointCloud } from "./ply_format.ts";

/** Writes a coloured point cloud as a PLY file atomically. */
export function writePly(path: string, cloud: PointCloud): Promise<void> {
  return writeFileAtomic(path, encodePly(cloud));
}
