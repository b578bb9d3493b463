/**
 * Where and how a flat object sits in a frame: its shape, border, 3D rotation and image position, drawn from a
 * recipe. The area target is met before perspective (plane units are pixels at the fronto-parallel pose), and
 * the object is kept wholly inside the frame and in front of the camera, shrinking it if it will not fit.
 */
import { type Border, drawBorder } from "./borders.ts";
import { type Mat3, type Placement, planeToImage, type Point, projectedCorners } from "./homography.ts";
import type { Recipe } from "./recipe.ts";
import type { Rng } from "../rng.ts";
import { fillFraction, makeShape, type Shape, type ShapeKind } from "./shapes.ts";

export interface Placed {
  readonly shape: Shape;
  readonly border: Border;
  readonly placement: Placement;
  readonly planeToImage: Mat3;
  /** The picture's bounding rectangle in the image, clockwise from top-left. */
  readonly corners: Point[];
  /** The same including the border. */
  readonly outer: Point[];
}

export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly focal: number;
}

const TRIES = 40;

/**
 * Draws an object of aspect ratio `aspect` (width / height) whose centre lies in `xRange` (e.g. one half of
 * the frame for a mirror). `minBorder` forces a border (negatives are nothing but a border).
 */
export function place(
  frame: Frame,
  recipe: Recipe,
  aspect: number,
  xRange: readonly [number, number],
  rng: Rng,
  minBorder = 0,
): Placed {
  const kind = rng.weighted<ShapeKind>(recipe.shapes);
  const drawn = drawBorder(recipe.border, rng);
  const beta = Math.max(drawn.width, minBorder);
  const a = Math.min(Math.max(aspect, 1 / 3), 3);
  const area = rng.uniform(recipe.area[0], recipe.area[1]) * frame.width * frame.height;
  const yaw = rng.uniform(...recipe.rotation.yaw);
  const pitch = rng.uniform(...recipe.rotation.pitch);
  const roll = rng.uniform(...recipe.rotation.roll);
  // Content h × a·h plus a border β·min(w, h) on each side; the shape's own fill fraction is applied after the
  // shape is drawn (a polygon's depends on its vertices).
  const side = Math.min(a, 1);
  let h = Math.sqrt(area / ((a + 2 * beta * side) * (1 + 2 * beta * side)));
  let shape = makeShape(kind, a * h, h, recipe, rng);
  h /= Math.sqrt(fillFraction(shape));
  let result: Placed | null = null;
  for (let t = 0; t < TRIES; t++) {
    if (t > 0 && t % 8 === 0) h *= 0.85;
    shape = scaleShape(shape, (a * h) / shape.width);
    const border = { ...drawn, width: beta * Math.min(shape.width, shape.height) };
    const centre: Point = [rng.uniform(xRange[0], xRange[1]), rng.uniform(0, frame.height - 1)];
    const placement = { yaw, pitch, roll, focal: frame.focal, centre };
    const H = planeToImage(placement);
    const outer = projectedCorners(H, shape.width + 2 * border.width, shape.height + 2 * border.width);
    result = {
      shape,
      border,
      placement,
      planeToImage: H,
      corners: projectedCorners(H, shape.width, shape.height),
      outer,
    };
    const inFront = [[-1, -1], [1, -1], [1, 1], [-1, 1]].every(([sx, sy]) =>
      H[6] * sx * (shape.width / 2 + border.width) + H[7] * sy * (shape.height / 2 + border.width) + H[8] > 0
    );
    const inside = outer.every(([x, y]) => x >= 0 && y >= 0 && x <= frame.width - 1 && y <= frame.height - 1);
    if (inFront && inside) return result;
  }
  // Nothing fitted wholly: the last try is used and the compositor clips it to the frame.
  return result!;
}

function scaleShape(shape: Shape, s: number): Shape {
  if (s === 1) return shape;
  return {
    ...shape,
    width: shape.width * s,
    height: shape.height * s,
    radius: shape.radius === undefined ? undefined : shape.radius * s,
    vertices: shape.vertices?.map(([x, y]) => [x * s, y * s] as Point),
  };
}
