import assert, {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
} from "node:assert/strict";
import { apply, invert, multiply, planeToImage, projectedCorners } from "../../core/augment/homography.ts";
import { Rng } from "../../core/rng.ts";
import { makeShape, shapeSdf } from "../../core/augment/shapes.ts";
import { composite } from "../../core/augment/composite.ts";
import { NO_BORDER } from "../../core/augment/borders.ts";
import { rasterU8 } from "../../core/io/raster.ts";

function assertAlmostEquals(a: number, b: number, tol: number): void {
  assert(Math.abs(a - b) <= tol, `${a} vs ${b} (tolerance ${tol})`);
}

Deno.test("rng streams depend on seed and identity only", () => {
  const a = Rng.derive(7, "scene/frame.0001", "placement");
  const b = Rng.derive(7, "scene/frame.0001", "placement");
  const c = Rng.derive(7, "scene/frame.0002", "placement");
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assertEquals(xs, Array.from({ length: 5 }, () => b.nextU32()));
  assertNotEquals(xs, Array.from({ length: 5 }, () => c.nextU32()));
  const r = Rng.derive(1, "x");
  for (let i = 0; i < 1000; i++) {
    const k = r.int(2, 4);
    assert(k >= 2 && k <= 4);
  }
});

Deno.test("fronto-parallel placement is a translation; rotations give a true perspective quad", () => {
  const h = planeToImage({ yaw: 0, pitch: 0, roll: 0, focal: 500, centre: [100, 80] });
  assertEquals(apply(h, 10, -5).map((x) => Math.round(x * 1e9) / 1e9), [110, 75]);
  const id = multiply(h, invert(h));
  for (let i = 0; i < 9; i++) assertAlmostEquals(id[i], i % 4 === 0 ? 1 : 0, 1e-12);
  // Yawed: the near vertical edge is longer than the far one, and the top and bottom edges converge.
  const q = projectedCorners(
    planeToImage({ yaw: 40, pitch: 0, roll: 0, focal: 500, centre: [0, 0] }),
    200,
    100,
  );
  const left = q[3][1] - q[0][1], right = q[2][1] - q[1][1];
  assert(Math.abs(left - right) > 5, `edges ${left} ${right}`);
});

Deno.test("shape distances: negative inside, zero on the outline", () => {
  const rng = Rng.derive(0, "shapes");
  const opts = { cornerRadius: [0.2, 0.4], polygonVertices: [5, 7] } as const;
  for (const kind of ["quad", "ellipse", "roundrect", "polygon"] as const) {
    const sdf = shapeSdf(makeShape(kind, 100, 60, opts, rng));
    assert(sdf(0, 0) < -20, kind);
    assert(sdf(80, 0) > 0 && sdf(0, 50) > 0, kind);
  }
  assertAlmostEquals(shapeSdf({ kind: "ellipse", width: 100, height: 60 })(50, 0), 0, 1e-12);
  assertAlmostEquals(shapeSdf({ kind: "ellipse", width: 100, height: 60 })(0, -30), 0, 1e-12);
  assertAlmostEquals(shapeSdf({ kind: "roundrect", width: 100, height: 60, radius: 10 })(50, 0), 0, 1e-12);
  assertAlmostEquals(shapeSdf({ kind: "quad", width: 100, height: 60 })(55, 0), 5, 1e-12);
});

Deno.test("compositing: fractional coverage at edges, whole pixels inside, nothing outside", () => {
  const img = rasterU8(40, 20, 3);
  const tex = rasterU8(2, 2, 3);
  tex.data.fill(200);
  // Plane x in [−10, 10] lands on image x in [10.25, 30.25]: the pixel centred on 10 (spanning 9.5..10.5) is
  // a quarter covered, the one centred on 30 three quarters.
  const shape = { kind: "quad", width: 20, height: 8 } as const;
  const h = planeToImage({ yaw: 0, pitch: 0, roll: 0, focal: 100, centre: [20.25, 10] });
  const fp = composite(img, {
    planeToImage: h,
    shape,
    sdf: shapeSdf(shape),
    border: NO_BORDER,
    texture: tex,
  });
  const at = (x: number, y: number) => img.data[(y * 40 + x) * 3];
  assertEquals(at(15, 10), 200);
  assertEquals(at(10, 10), 50);
  assertEquals(at(30, 10), 150);
  assertEquals(at(9, 10), 0);
  assertEquals(at(15, 2), 0);
  const cover = (x: number, y: number) => fp.cover[(y - fp.y0) * (fp.x1 - fp.x0) + x - fp.x0];
  assertEquals(cover(10, 10), 4); // sixteenths
  assertEquals(cover(20, 10), 16);
});

Deno.test("a border surrounds the picture in the picture's perspective", () => {
  const img = rasterU8(60, 60, 3);
  const tex = rasterU8(1, 1, 3);
  tex.data.fill(255);
  const shape = { kind: "ellipse", width: 30, height: 30 } as const;
  const border = { width: 5, colour: [0, 100, 0] as const, bevel: 0 };
  const h = planeToImage({ yaw: 0, pitch: 0, roll: 0, focal: 100, centre: [30, 30] });
  composite(img, { planeToImage: h, shape, sdf: shapeSdf(shape), border, texture: tex });
  const px = (x: number, y: number) => Array.from(img.data.subarray((y * 60 + x) * 3, (y * 60 + x) * 3 + 3));
  assertEquals(px(30, 30), [255, 255, 255]);
  assertEquals(px(30 + 17, 30), [0, 100, 0]);
  assertEquals(px(30, 30 - 17), [0, 100, 0]);
  assertEquals(px(30 + 25, 30), [0, 0, 0]);
});
