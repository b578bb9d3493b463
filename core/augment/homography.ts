/**
 * Homographies for pasting a flat object into an image. The object is a plane in 3D — a picture of physical
 * size w × h centred on its own origin — rotated by yaw/pitch/roll and placed in front of a virtual pinhole, so
 * the quadrilateral it projects to is one a real camera could see (not four independently jittered corners).
 * Matrices are 3×3, row-major, float64.
 */

export type Mat3 = Float64Array;
export type Point = readonly [number, number];

export function mat3(values: ArrayLike<number>): Mat3 {
  if (values.length !== 9) throw new Error("mat3: need 9 values");
  return Float64Array.from(values);
}

export function multiply(a: Mat3, b: Mat3): Mat3 {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
    }
  }
  return out;
}

export function invert(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-300) throw new Error("invert: singular matrix");
  const s = 1 / det;
  return mat3([
    A * s,
    -(b * i - c * h) * s,
    (b * f - c * e) * s,
    B * s,
    (a * i - c * g) * s,
    -(a * f - c * d) * s,
    C * s,
    -(a * h - b * g) * s,
    (a * e - b * d) * s,
  ]);
}

/** Applies a homography to a point (projective division included). */
export function apply(m: Mat3, x: number, y: number): [number, number] {
  const w = m[6] * x + m[7] * y + m[8];
  return [(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w];
}

/**
 * Rotation R = Rz(roll) · Rx(pitch) · Ry(yaw), angles in degrees. Yaw turns the picture about the vertical
 * axis (a painting seen from the side), pitch about the horizontal axis, roll in the image plane.
 */
export function rotation(yawDeg: number, pitchDeg: number, rollDeg: number): Mat3 {
  const [y, p, r] = [yawDeg, pitchDeg, rollDeg].map((d) => (d * Math.PI) / 180);
  const ry = mat3([Math.cos(y), 0, Math.sin(y), 0, 1, 0, -Math.sin(y), 0, Math.cos(y)]);
  const rx = mat3([1, 0, 0, 0, Math.cos(p), -Math.sin(p), 0, Math.sin(p), Math.cos(p)]);
  const rz = mat3([Math.cos(r), -Math.sin(r), 0, Math.sin(r), Math.cos(r), 0, 0, 0, 1]);
  return multiply(rz, multiply(rx, ry));
}

export interface Placement {
  /** Rotation of the picture plane (yaw, pitch, roll in degrees). */
  readonly yaw: number;
  readonly pitch: number;
  readonly roll: number;
  /** Focal length of the virtual camera in pixels (the dataset's fx keeps perspective realistic). */
  readonly focal: number;
  /** Where the picture's centre lands in the image (pixel-index coordinates). */
  readonly centre: Point;
}

/**
 * Plane → image homography H = K · [r1 r2 t] for a picture at distance `focal` (so one plane unit is one
 * pixel where the picture is fronto-parallel), with K's principal point at the placement centre.
 */
export function planeToImage(p: Placement): Mat3 {
  const r = rotation(p.yaw, p.pitch, p.roll);
  const k = mat3([p.focal, 0, p.centre[0], 0, p.focal, p.centre[1], 0, 0, 1]);
  const rt = mat3([r[0], r[1], 0, r[3], r[4], 0, r[6], r[7], p.focal]);
  return multiply(k, rt);
}

/** The image corners of the rectangle [−w/2, w/2] × [−h/2, h/2] of the plane, clockwise from top-left. */
export function projectedCorners(h: Mat3, width: number, height: number): Point[] {
  const x = width / 2, y = height / 2;
  return [[-x, -y], [x, -y], [x, y], [-x, y]].map(([px, py]) => apply(h, px, py));
}

/** Area of a polygon (shoelace), absolute. */
export function polygonArea(points: readonly Point[]): number {
  let s = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    s += x0 * y1 - x1 * y0;
  }
  return Math.abs(s) / 2;
}
