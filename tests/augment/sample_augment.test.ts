import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { augmentFrame, type FrameInput, MASK } from "../../core/augment/sample_augment.ts";
import { parseRecipe } from "../../core/augment/recipe.ts";
import { preset } from "../../core/augment/presets.ts";
import type { Sources } from "../../core/augment/sources.ts";

const W = 200, H = 120;
const K = { fx: 180, fy: 180, cx: (W - 1) / 2, cy: (H - 1) / 2 };

/** RGB encodes the pixel position (R = column, G = row) so pasted content can be traced to its source. */
function frame(id = "scene/frame.0000"): FrameInput {
  const rgb = new Uint8Array(W * H * 3),
    depth = new Float32Array(W * H),
    valid = new Uint8Array(W * H).fill(1);
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) {
      const k = v * W + u;
      rgb.set([u, v, 77], 3 * k);
      depth[k] = 1 / (0.0004 * u + 0.0007 * v + 0.12);
      if (u > 150 && v > 80) depth[k] = 2; // a cabinet in front of the wall
    }
  }
  return {
    id,
    index: 0,
    rgb: { width: W, height: H, channels: 3, data: rgb },
    depth,
    valid,
    width: W,
    height: H,
    intrinsics: K,
  };
}

const pool: Sources = {
  poolSize: 1,
  pool: () => {
    const data = new Uint8Array(64 * 48 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
    return Promise.resolve({ name: "noise.png", rgb: { width: 64, height: 48, channels: 3, data } });
  },
  frameCount: 0,
  frame: () => Promise.reject(new Error("no frames")),
};

function inverseDepthAffineResidual(depth: Float32Array, mask: Uint8Array, label: number): number {
  // Least squares of 1/Z on (u, v, 1) via normal equations, then the largest relative residual.
  const ata = new Float64Array(9), atb = new Float64Array(3);
  const pts: [number, number, number][] = [];
  for (let k = 0; k < mask.length; k++) {
    if (mask[k] !== label) continue;
    const row = [k % W, Math.floor(k / W), 1], y = 1 / depth[k];
    pts.push([row[0], row[1], y]);
    for (let p = 0; p < 3; p++) {
      atb[p] += row[p] * y;
      for (let q = 0; q < 3; q++) ata[p * 3 + q] += row[p] * row[q];
    }
  }
  const m = [0, 1, 2].map((r) => [ata[r * 3], ata[r * 3 + 1], ata[r * 3 + 2], atb[r]]);
  for (let c = 0; c < 3; c++) {
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let q = c; q < 4; q++) m[r][q] -= f * m[c][q];
    }
  }
  const x = m.map((row, i) => row[3] / row[i]);
  return Math.max(...pts.map(([u, v, y]) => Math.abs(x[0] * u + x[1] * v + x[2] - y) / y));
}

Deno.test("plane mode end to end: affine inverse depth in the mask, never behind, untouched outside", async () => {
  const recipe = parseRecipe(
    { kinds: { art: 1 }, shapes: { quad: 1, ellipse: 1, polygon: 1, roundrect: 1 } },
    "test",
  );
  for (let s = 0; s < 6; s++) {
    const input = frame();
    const out = await augmentFrame(input, recipe, s, pool);
    let n = 0;
    for (let k = 0; k < W * H; k++) {
      if (out.mask[k] === MASK.untouched) {
        assertEquals(out.depth[k], input.depth[k]);
        for (let c = 0; c < 3; c++) assertEquals(out.rgb.data[3 * k + c], input.rgb.data[3 * k + c]);
      } else {
        n++;
        assert(out.depth[k] <= input.depth[k], `seed ${s}: plane behind covered content at ${k}`);
      }
    }
    assert(n > 0.03 * W * H, `seed ${s}: region of ${n} px`);
    const residual = inverseDepthAffineResidual(out.depth, out.mask, MASK.art);
    assert(residual < 2e-6, `seed ${s}: 1/Z residual ${residual}`);
    assertEquals(out.record.regions[0].depth?.mode, "plane");
  }
});

Deno.test("mirror content is the flipped source region from the other half", async () => {
  const recipe = parseRecipe({
    kinds: { mirror: 1, art: 0 },
    rotation: { yaw: [0, 0], pitch: [0, 0], roll: [0, 0] },
    border: { probability: 0 },
  }, "test");
  for (let s = 0; s < 4; s++) {
    const out = await augmentFrame(frame(), recipe, s, pool);
    const region = out.record.regions[0];
    assert(region.source?.type === "mirror");
    const [x0, y0, cw, ch] = region.source.crop;
    const { width: pw, height: ph } = region.shape;
    const [cx, cy] = region.placement.centre;
    // Fronto-parallel: plane x = u − cx; texel s = (x + w/2)/w·cw − ½; the mirror shows column x0 + cw − 1 − s.
    let checked = 0;
    for (let v = 0; v < H; v++) {
      for (let u = 0; u < W; u++) {
        const sx = ((u - cx + pw / 2) / pw) * cw - 0.5, ty = ((v - cy + ph / 2) / ph) * ch - 0.5;
        if (sx < 0.5 || sx > cw - 1.5 || ty < 0.5 || ty > ch - 1.5) continue;
        const k = v * W + u;
        assertEquals(out.mask[k], MASK.mirror);
        assert(Math.abs(out.rgb.data[3 * k] - (x0 + cw - 1 - sx)) <= 0.5, `R at ${u},${v}`);
        assert(Math.abs(out.rgb.data[3 * k + 1] - (y0 + ty)) <= 0.5, `G at ${u},${v}`);
        checked++;
      }
    }
    assert(checked > 100, `only ${checked} pixels checked`);
    // The source rectangle lies in one half and the mirror's centre in the other.
    const fromLeft = region.source.from === "left";
    assert(fromLeft ? x0 + cw <= W / 2 : x0 >= W / 2);
    assert(fromLeft ? cx >= W / 2 : cx < W / 2);
  }
});

Deno.test("seed presets are quads with borders and the seed gradient; trompe adds clean frames and negatives", async () => {
  const seedRecipe = preset("seed-hypersim-art");
  const out = await augmentFrame(frame(), seedRecipe, 3, pool);
  assertEquals(out.record.regions[0].shape.kind, "quad");
  assert(out.record.regions[0].border.width > 0);
  assertEquals(out.record.regions[0].depth?.mode, "seed");
  const trompe = preset("trompe");
  const kinds = new Map<string, number>();
  let negatives = 0;
  for (let i = 0; i < 40; i++) {
    const r = await augmentFrame(frame(`scene/frame.${i}`), trompe, 1, pool);
    kinds.set(r.record.kind, (kinds.get(r.record.kind) ?? 0) + 1);
    if (r.record.regions.some((g) => g.label === "negative")) {
      negatives++;
      assert(r.mask.includes(MASK.negative));
    }
    if (r.record.kind === "clean") assert(!r.mask.some((x) => x !== 0));
  }
  assert(
    (kinds.get("clean") ?? 0) >= 2 && (kinds.get("mirror") ?? 0) >= 5 && (kinds.get("art") ?? 0) >= 5,
    [...kinds].join(),
  );
  assert(negatives >= 3, `${negatives} negatives`);
});

Deno.test("a negative leaves the depth true and its interior RGB untouched", async () => {
  const recipe = parseRecipe({ negatives: 1, area: [0.05, 0.1] }, "test");
  for (let s = 0; s < 8; s++) {
    const input = frame();
    const out = await augmentFrame(input, recipe, s, pool);
    const neg = out.record.regions.find((r) => r.label === "negative");
    if (!neg) continue;
    for (let k = 0; k < W * H; k++) {
      if (out.mask[k] === MASK.negative) assertEquals(out.depth[k], input.depth[k]);
    }
    const [cx, cy] = neg.placement.centre.map(Math.round);
    assertEquals(out.rgb.data[3 * (cy * W + cx)], input.rgb.data[3 * (cy * W + cx)]);
    return;
  }
  throw new Error("no negative placed in 8 seeds");
});

Deno.test("recipes are validated and name the field at fault", () => {
  assert.throws(() => parseRecipe({ area: [0.5, 0.1] }, "r.json"), /area/);
  assert.throws(() => parseRecipe({ depth: { mode: "wobbly" } }, "r.json"), /depth\.mode/);
  assert.throws(() => parseRecipe({ colour: 1 }, "r.json"), /invalid recipe/);
  assertEquals(parseRecipe({}, "r.json").depth.mode, "plane");
});

Deno.test("plane mode hangs pictures on the wall: they avoid covering furniture rather than float at its depth", async () => {
  // A wall with a cabinet (2 m, the wall is 5–8 m behind it) filling the lower right third of the frame.
  const input = frame();
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) if (u > 120 && v > 50) input.depth[v * W + u] = 2;
  }
  const recipe = parseRecipe({ kinds: { mirror: 1, art: 1 }, area: [0.05, 0.12] }, "test");
  for (let s = 0; s < 16; s++) {
    const out = await augmentFrame({ ...input, depth: input.depth.slice() }, recipe, s, pool);
    const fill = out.record.regions[0].depth!;
    assertEquals(fill.mode, "plane");
    // The plane is the surface it hangs on (the wall, or the cabinet's front), not one pulled forward to
    // clear a cabinet standing in front of the wall.
    assert(
      fill.pushed! <= 1.05,
      `seed ${s}: plane pulled ${fill.pushed}× towards the camera onto the cabinet`,
    );
    // And, moved forward or not, never behind what it covers.
    for (let k = 0; k < W * H; k++) {
      if (out.mask[k] !== MASK.untouched) assert(out.depth[k] <= input.depth[k], `seed ${s}: behind at ${k}`);
    }
  }
});

Deno.test("augmenting in place gives what augmenting copies gives, and leaves the caller's frame as the result", async () => {
  const recipe = { ...preset("trompe"), clean: 0, negatives: 1 };
  for (let s = 0; s < 6; s++) {
    const copied = await augmentFrame(frame(), recipe, s, pool);
    const input = frame();
    const inPlace = await augmentFrame(input, recipe, s, pool, { inPlace: true });
    assertEquals(inPlace, copied);
    assert(
      inPlace.rgb.data === input.rgb.data && inPlace.depth === input.depth && inPlace.valid === input.valid,
    );
  }
});
