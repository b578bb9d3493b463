import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../core/io/safetensors.ts";
import {
  bicubicScaleFactor,
  bicubicScaleFactorBackward,
  bilinearAlignCorners,
  bilinearAlignCornersBackward,
} from "../../core/nn/resize_ref.ts";
import { randomArray, REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A linear map R and its claimed adjoint: ⟨R x, y⟩ = ⟨x, Rᵀ y⟩, and central differences of ⟨R x, y⟩. */
function checkAdjoint(
  forward: (x: Float64Array) => Float64Array,
  backward: (y: Float64Array) => Float64Array,
  inLength: number,
  outLength: number,
): void {
  const x = Float64Array.from(randomArray(inLength, 11));
  const y = Float64Array.from(randomArray(outLength, 12));
  const lhs = dot(forward(x), y);
  const g = backward(y);
  const rhs = dot(x, g);
  assert.ok(Math.abs(lhs - rhs) <= 1e-12 * Math.max(1, Math.abs(lhs)), `dot test ${lhs} vs ${rhs}`);
  const eps = 1e-3;
  for (const i of [0, 1, Math.floor(inLength / 2), inLength - 1]) {
    const xp = x.slice();
    const xm = x.slice();
    xp[i] += eps;
    xm[i] -= eps;
    const fd = (dot(forward(xp), y) - dot(forward(xm), y)) / (2 * eps);
    assert.ok(
      Math.abs(fd - g[i]) <= 1e-8 * Math.max(1, Math.abs(g[i])),
      `finite difference at ${i}: ${fd} vs ${g[i]}`,
    );
  }
}

Deno.test("bilinear align_corners: corners are exact, a linear ramp stays linear", () => {
  const src = Float64Array.from([1, 2, 3, 4]); // 1x2x2
  const out = bilinearAlignCorners(src, 1, 2, 2, 3, 3);
  assert.deepEqual(Array.from(out), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
});

Deno.test("bilinear align_corners backward is the adjoint", () => {
  for (const [c, ih, iw, oh, ow] of [[2, 3, 4, 7, 5], [1, 5, 6, 2, 3], [1, 1, 4, 3, 9]]) {
    checkAdjoint(
      (x) => bilinearAlignCorners(x, c, ih, iw, oh, ow),
      (y) => bilinearAlignCornersBackward(y, c, ih, iw, oh, ow),
      c * ih * iw,
      c * oh * ow,
    );
  }
});

Deno.test("bicubic scale_factor: output size floor(in*scale), constant preserved", () => {
  const { outH, outW, data } = bicubicScaleFactor(
    new Float64Array(2 * 37 * 37).fill(0.5),
    2,
    37,
    37,
    5.1 / 37,
    7.1 / 37,
  );
  assert.equal(outH, 5);
  assert.equal(outW, 7);
  for (const v of data) assert.ok(Math.abs(v - 0.5) < 1e-15);
});

Deno.test("bicubic scale_factor backward is the adjoint (down- and upsampling)", () => {
  for (
    const [c, ih, iw, sh, sw] of [[3, 37, 37, 5.1 / 37, 7.1 / 37], [2, 4, 5, 8.1 / 4, 11.1 / 5], [
      1,
      6,
      6,
      1,
      0.5,
    ]]
  ) {
    const oh = Math.floor(ih * sh);
    const ow = Math.floor(iw * sw);
    checkAdjoint(
      (x) => bicubicScaleFactor(x, c, ih, iw, sh, sw).data,
      (y) => bicubicScaleFactorBackward(y, c, ih, iw, sh, sw),
      c * ih * iw,
      c * oh * ow,
    );
  }
});

for (const model of ["tiny-a", "tiny-b", "vits"]) {
  sharedTest(`depth_infer is the bilinear align_corners resize of depth (${model})`, async () => {
    const golden = await readSafetensors(join(REFERENCE_DIR, model, "golden.safetensors"));
    const [, h, w] = golden.shape("depth_f64ref");
    const [H, W] = golden.shape("depth_infer_f64ref");
    const fromRef = bilinearAlignCorners(golden.float64("depth_f64ref"), 1, h, w, H, W);
    const ref = golden.float64("depth_infer_f64ref");
    const rel = relL2(fromRef, ref);
    const lines = [
      `${model}: f64 path rel_l2 ${rel.toExponential(2)} max abs ${
        maxAbsDiff(fromRef, ref).toExponential(2)
      }`,
    ];
    // vits stores its _f64ref rounded to float32; the tiny models store true float64.
    assert.ok(rel <= (model === "vits" ? 1e-7 : 1e-14), lines[0]);
    if (golden.has("depth_infer")) {
      const from32 = bilinearAlignCorners(golden.float32("depth"), 1, h, w, H, W);
      const rel32 = relL2(from32, golden.float32("depth_infer"));
      lines.push(`f32 depth -> depth_infer rel_l2 ${rel32.toExponential(2)}`);
      // PyTorch resized the float32 depth in float32 arithmetic: rounding noise only.
      assert.ok(rel32 <= 1e-6, lines[1]);
    }
    console.log(lines.join("; "));
  });
}

/** DINOv2 `interpolate_pos_encoding` on the stored weights: tokens [1, 1+N, C] -> grid C×√N×√N -> resize. */
async function interpolatedPosEmbed(model: string): Promise<{ got: Float64Array; file: string }> {
  const weights = await readSafetensors(join(REFERENCE_DIR, model, "weights.safetensors"));
  const golden = await readSafetensors(join(REFERENCE_DIR, model, "golden.safetensors"));
  const [, tokens, dim] = weights.shape("pretrained.pos_embed");
  const pos = weights.float64("pretrained.pos_embed");
  const grid = Math.sqrt(tokens - 1);
  const [, , inH, inW] = golden.shape("input");
  const chw = new Float64Array(dim * grid * grid);
  for (let p = 0; p < grid * grid; p++) {
    for (let c = 0; c < dim; c++) chw[c * grid * grid + p] = pos[(1 + p) * dim + c];
  }
  const sh = (Math.floor(inH / 14) + 0.1) / Math.sqrt(tokens - 1);
  const sw = (Math.floor(inW / 14) + 0.1) / Math.sqrt(tokens - 1);
  const { data, outH, outW } = bicubicScaleFactor(chw, dim, grid, grid, sh, sw);
  assert.equal(outH, Math.floor(inH / 14));
  assert.equal(outW, Math.floor(inW / 14));
  const got = new Float64Array((1 + outH * outW) * dim);
  for (let c = 0; c < dim; c++) got[c] = pos[c];
  for (let p = 0; p < outH * outW; p++) {
    for (let c = 0; c < dim; c++) got[(1 + p) * dim + c] = data[c * outH * outW + p];
  }
  return { got, file: join(REFERENCE_DIR, model, "golden.safetensors") };
}

for (const model of ["tiny-a", "tiny-b"]) {
  sharedTest(`bicubic scale_factor reproduces dbg/pos_embed (${model})`, async () => {
    const { got, file } = await interpolatedPosEmbed(model);
    const golden = await readSafetensors(file);
    const rel32 = relL2(got, golden.float64("dbg/pos_embed"));
    const rel64 = relL2(got, golden.float64("dbg/pos_embed_f64ref"));
    console.log(
      `${model}: rel_l2 vs pos_embed ${rel32.toExponential(2)}, vs _f64ref ${rel64.toExponential(2)}`,
    );
    assert.ok(rel32 <= 1e-6, `vs dbg/pos_embed ${rel32}`);
    assert.ok(rel64 <= 1e-5, `vs dbg/pos_embed_f64ref ${rel64}`);
  });
}
