/**
 * core/augment/placement.ts: the area target (border included) met before perspective, the aspect clamped
 * to [1/3, 3], the centre in its x range, the object wholly inside the frame and in front of the camera
 * when it can be, shrunk in steps of 0.85 when it cannot, and the corners it reports the plane rectangle
 * through its own homography (projected here by hand).
 */
import assert from "node:assert/strict";
import { type Frame, place, type Placed } from "../../core/augment/placement.ts";
import { preset } from "../../core/augment/presets.ts";
import { parseRecipe, type Recipe } from "../../core/augment/recipe.ts";
import { Rng } from "../../core/rng.ts";

const FRAME: Frame = { width: 640, height: 480, focal: 500 };
const FULL: [number, number] = [0, FRAME.width - 1];

/** A recipe without rotation: the placement is a translation, so sizes can be checked exactly. */
function flat(
  area: number,
  border: number,
  shapes: Recipe["shapes"] = { quad: 1, ellipse: 0, roundrect: 0, polygon: 0 },
) {
  return parseRecipe({
    shapes,
    area: [area, area],
    rotation: { yaw: [0, 0], pitch: [0, 0], roll: [0, 0] },
    border: { probability: border > 0 ? 1 : 0, width: [border, border], bevel: [0, 0] },
  }, "test recipe");
}

/** The plane point (x, y) through H, by hand. */
function project(h: Float64Array, x: number, y: number): [number, number, number] {
  const w = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w, w];
}

function rectangle(p: Placed, half: [number, number]): [number, number, number][] {
  return [[-1, -1], [1, -1], [1, 1], [-1, 1]].map(([sx, sy]) =>
    project(p.planeToImage, sx * half[0], sy * half[1])
  );
}

/** How many 0.85 shrinks of the height turn `target` into `area` (areas scale by 0.85²). */
function shrinks(area: number, target: number): number {
  const k = Math.log(area / target) / Math.log(0.85 ** 2);
  assert.ok(Math.abs(k - Math.round(k)) < 1e-9, `area ${area} is not ${target}·0.7225^k`);
  return Math.round(k) + 0; // + 0: -0 is 0
}

Deno.test("placement without rotation: the outer area is the target, border included, at the clamped aspect", () => {
  const area = 0.1 * FRAME.width * FRAME.height;
  let unshrunk = 0;
  for (const [aspect, want] of [[1.5, 1.5], [10, 3], [0.1, 1 / 3], [1, 1]]) {
    for (const border of [0, 0.05]) {
      for (let seed = 0; seed < 20; seed++) {
        const p = place(FRAME, flat(0.1, border), aspect, FULL, Rng.derive(seed, "placement"));
        const { width, height } = p.shape;
        assert.ok(Math.abs(width / height - want) < 1e-9, `aspect ${width / height} for ${aspect}`);
        assert.ok(Math.abs(p.border.width - border * Math.min(width, height)) < 1e-9, "border width");
        const outer = (width + 2 * p.border.width) * (height + 2 * p.border.width);
        // Shrunk only after 8 tries found no spot (tall 1:3 objects in a 640×480 frame sometimes need it).
        if (shrinks(outer, area) === 0) unshrunk++;
        // A translation: corners are the rectangle around the centre, in the frame.
        const [cx, cy] = p.placement.centre;
        const expected = [[cx - width / 2, cy - height / 2], [cx + width / 2, cy - height / 2], [
          cx + width / 2,
          cy + height / 2,
        ], [cx - width / 2, cy + height / 2]];
        p.corners.forEach(([x, y], i) => {
          assert.ok(
            Math.abs(x - expected[i][0]) < 1e-6 && Math.abs(y - expected[i][1]) < 1e-6,
            `corner ${i}`,
          );
        });
        assert.ok(
          p.outer.every(([x, y]) => x >= 0 && y >= 0 && x <= FRAME.width - 1 && y <= FRAME.height - 1),
        );
      }
    }
  }
});

Deno.test("placement: an ellipse's covered area, not its bounding box, meets the target", () => {
  const recipe = flat(0.1, 0, { quad: 0, ellipse: 1, roundrect: 0, polygon: 0 });
  const p = place(FRAME, recipe, 1.2, FULL, Rng.derive(4, "placement"));
  const covered = (Math.PI / 4) * p.shape.width * p.shape.height;
  assert.equal(shrinks(covered, 0.1 * FRAME.width * FRAME.height), 0);
});

Deno.test("placement: minBorder forces a border, the centre stays in its x range, same rng same placement", () => {
  const recipe = flat(0.05, 0);
  for (let seed = 0; seed < 30; seed++) {
    const p = place(FRAME, recipe, 1, [320, 639], Rng.derive(seed, "placement"), 0.08);
    assert.ok(Math.abs(p.border.width - 0.08 * Math.min(p.shape.width, p.shape.height)) < 1e-9);
    assert.ok(p.placement.centre[0] >= 320 && p.placement.centre[0] <= 639, `${p.placement.centre}`);
    assert.deepEqual(place(FRAME, recipe, 1, [320, 639], Rng.derive(seed, "placement"), 0.08), p);
  }
});

Deno.test("placement with the trompe preset's rotations: corners through H, in front and inside when it fits", () => {
  const recipe = preset("trompe");
  let fitted = 0;
  const n = 200;
  for (let seed = 0; seed < n; seed++) {
    const p = place(FRAME, recipe, 0.5 + (seed % 7) / 3, FULL, Rng.derive(seed, "placement"));
    const half: [number, number] = [p.shape.width / 2, p.shape.height / 2];
    const halfOuter: [number, number] = [half[0] + p.border.width, half[1] + p.border.width];
    const corners = rectangle(p, half), outer = rectangle(p, halfOuter);
    corners.forEach(([x, y], i) => assert.ok(Math.hypot(x - p.corners[i][0], y - p.corners[i][1]) < 1e-6));
    outer.forEach(([x, y], i) => assert.ok(Math.hypot(x - p.outer[i][0], y - p.outer[i][1]) < 1e-6));
    const inFront = outer.every(([, , w]) => w > 0);
    const inside = outer.every(([x, y]) => x >= 0 && y >= 0 && x <= FRAME.width - 1 && y <= FRAME.height - 1);
    if (inFront && inside) fitted++;
  }
  // The preset's areas (5-25 % of the frame) nearly always fit within 40 tries.
  assert.ok(fitted >= 0.95 * n, `${fitted} of ${n} placed wholly inside and in front`);
});

Deno.test("placement: an object that cannot fit is shrunk 0.85 every 8 tries and the last try returned", () => {
  // 90 % of a 200×1000 frame at a 3:1 aspect can never fit (735 wide, still 383 after four shrinks): every
  // try fails, the height shrinks at tries 8, 16, 24 and 32, and the 40th comes back for the compositor to clip.
  const frame = { width: 200, height: 1000, focal: 500 };
  const p = place(frame, flat(0.9, 0), 3, [0, 199], Rng.derive(1, "placement"));
  assert.equal(shrinks(p.shape.width * p.shape.height, 0.9 * frame.width * frame.height), 4);
  assert.ok(p.outer.some(([x, y]) => x < 0 || y < 0 || x > frame.width - 1 || y > frame.height - 1));
});
