/**
 * Shapes of pasted objects, as signed distance functions on the picture plane (negative inside, plane units,
 * the picture centred on the origin). A border of width b is then simply 0 ≤ sdf < b, whatever the shape, and
 * the study's over-fitting to quadrilaterals is answered by mixing ellipses, rounded rectangles and polygons.
 */
import type { Point } from "./homography.ts";
import type { Rng } from "../rng.ts";

export type ShapeKind = "quad" | "ellipse" | "roundrect" | "polygon";
export const SHAPE_KINDS: readonly ShapeKind[] = ["quad", "ellipse", "roundrect", "polygon"];

export interface Shape {
  readonly kind: ShapeKind;
  /** Size of the picture's bounding rectangle in plane units; the source image is stretched over it. */
  readonly width: number;
  readonly height: number;
  /** roundrect: corner radius in plane units. */
  readonly radius?: number;
  /** polygon: convex vertices in plane units, either winding. */
  readonly vertices?: readonly Point[];
}

export type Sdf = (x: number, y: number) => number;

export function shapeSdf(shape: Shape): Sdf {
  const a = shape.width / 2, b = shape.height / 2;
  switch (shape.kind) {
    case "quad":
      // Mitred box distance: its offsets stay rectangles, like a real picture frame.
      return (x, y) => Math.max(Math.abs(x) - a, Math.abs(y) - b);
    case "roundrect": {
      const r = Math.min(shape.radius ?? 0, a, b);
      return (x, y) => {
        const qx = Math.abs(x) - a + r, qy = Math.abs(y) - b + r;
        const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
        return outside + Math.min(Math.max(qx, qy), 0) - r;
      };
    }
    case "ellipse":
      // First-order distance to an ellipse, k0 (k0 − 1) / k1: exact on the axes and at the boundary.
      return (x, y) => {
        const k0 = Math.hypot(x / a, y / b);
        const k1 = Math.hypot(x / (a * a), y / (b * b));
        return k1 === 0 ? -Math.min(a, b) : (k0 * (k0 - 1)) / k1;
      };
    case "polygon":
      return polygonSdf(shape.vertices ?? []);
  }
}

/** Largest signed distance to the edge lines of a convex polygon (exact inside, mitred outside). */
function polygonSdf(vertices: readonly Point[]): Sdf {
  if (vertices.length < 3) throw new Error("polygon shape needs at least 3 vertices");
  const edges = vertices.map(([x0, y0], i) => {
    const [x1, y1] = vertices[(i + 1) % vertices.length];
    const len = Math.hypot(x1 - x0, y1 - y0);
    // Normal of the edge; `sign` below turns it outward whichever way the polygon is wound.
    return { nx: (y1 - y0) / len, ny: -(x1 - x0) / len, x0, y0 };
  });
  const area = vertices.reduce((s, [x0, y0], i) => {
    const [x1, y1] = vertices[(i + 1) % vertices.length];
    return s + x0 * y1 - x1 * y0;
  }, 0);
  const sign = area > 0 ? 1 : -1;
  return (x, y) => {
    let d = -Infinity;
    for (const e of edges) d = Math.max(d, sign * (e.nx * (x - e.x0) + e.ny * (y - e.y0)));
    return d;
  };
}

export interface ShapeOptions {
  /** roundrect corner radius as a fraction of the shorter half-side. */
  readonly cornerRadius: readonly [number, number];
  /** polygon vertex count range. */
  readonly polygonVertices: readonly [number, number];
}

/** Draws a shape of the given kind and size; random parameters come from `rng`. */
export function makeShape(
  kind: ShapeKind,
  width: number,
  height: number,
  opts: ShapeOptions,
  rng: Rng,
): Shape {
  if (kind === "roundrect") {
    const radius = rng.uniform(opts.cornerRadius[0], opts.cornerRadius[1]) * Math.min(width, height) / 2;
    return { kind, width, height, radius };
  }
  if (kind === "polygon") {
    // Points on the inscribed ellipse taken in angular order are always convex; jittered even spacing keeps
    // them from bunching into a sliver.
    const n = rng.int(opts.polygonVertices[0], opts.polygonVertices[1]);
    const phase = rng.uniform(0, 2 * Math.PI);
    const vertices: Point[] = [];
    for (let i = 0; i < n; i++) {
      const t = phase + (2 * Math.PI * (i + rng.uniform(-0.3, 0.3))) / n;
      vertices.push([(Math.cos(t) * width) / 2, (Math.sin(t) * height) / 2]);
    }
    return { kind, width, height, vertices };
  }
  return { kind, width, height };
}

/** Fraction of the bounding rectangle the shape covers (for area targets). */
export function fillFraction(shape: Shape): number {
  switch (shape.kind) {
    case "quad":
      return 1;
    case "ellipse":
      return Math.PI / 4;
    case "roundrect": {
      const r = shape.radius ?? 0;
      return 1 - ((4 - Math.PI) * r * r) / (shape.width * shape.height);
    }
    case "polygon": {
      const v = shape.vertices ?? [];
      let s = 0;
      for (let i = 0; i < v.length; i++) {
        s += v[i][0] * v[(i + 1) % v.length][1] - v[(i + 1) % v.length][0] * v[i][1];
      }
      return Math.abs(s) / 2 / (shape.width * shape.height);
    }
  }
}
