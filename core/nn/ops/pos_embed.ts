/**
 * DINOv2's `interpolate_pos_encoding` (Depth Anything V2's copy, ../shared/reference/README.md §4): the
 * position embedding's √M×√M grid resized to the h×w patch grid with PyTorch's bicubic `scale_factor`
 * semantics — scale (h + 0.1)/√M along the height, (w + 0.1)/√M along the width, output floor(in·scale),
 * source coordinate (i + 0.5)/scale − 0.5 with the given scale, a = −0.75, borders clamped — or kept as is
 * when h·w = M and h = w. The class token's row is kept.
 *
 * The resize is linear and separable: out = Ty·G·Txᵀ per channel, with Ty [h, √M] and Tx [w, √M] the tap
 * matrices. They are computed on the CPU in float64 (by resizing the unit vectors with the reference
 * `bicubicScaleFactor`, so the semantics live in one place) and the two products run as matmuls on the
 * token-major grid; the adjoint (the gradient to pos_embed) is the same two products transposed. When the
 * grid is kept there is nothing to resize: a copy, and a sum for the gradient.
 */
import { axpy } from "../../gpu/elementwise.ts";
import { matmul } from "../../gpu/matmul.ts";
import { sumRows } from "../../gpu/reduce.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { bicubicScaleFactor } from "../resize_ref.ts";
import { release } from "./release.ts";

/** The resize along one axis as a dense [outSize, inSize] matrix: row i holds the four taps of output i. */
export function bicubicMatrix(inSize: number, outSize: number, scale: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  // Column j of the matrix is the resize of the unit vector e_j: resize all of them at once as channels.
  const units = new Float64Array(inSize * inSize);
  for (let j = 0; j < inSize; j++) units[j * inSize + j] = 1;
  const { data, outH } = bicubicScaleFactor(units, inSize, inSize, 1, scale, 1);
  if (outH !== outSize) {
    throw new TrompeError(
      "shape-mismatch",
      `bicubic ${inSize} × ${scale} gives ${outH} rows, not ${outSize}`,
    );
  }
  for (let j = 0; j < inSize; j++) {
    for (let i = 0; i < outSize; i++) m[i * inSize + j] = data[j * outSize + i];
  }
  return m;
}

interface Plan {
  grid: number;
  channels: number;
  h: number;
  w: number;
  ty: Tensor;
  tx: Tensor;
}

function plan(rt: Runtime, pos: Tensor, h: number, w: number): Plan {
  const [, rows, channels] = pos.shape;
  const grid = Math.round(Math.sqrt(rows - 1));
  if (pos.shape.length !== 3 || grid * grid !== rows - 1) {
    throw new TrompeError("shape-mismatch", `pos_embed [${pos.shape}] is not [1, 1 + M², C]`, {
      subject: pos.name,
    });
  }
  const scale = (n: number) => (n + 0.1) / grid;
  return {
    grid,
    channels,
    h,
    w,
    ty: rt.upload("tmp/pos_embed/ty", [h, grid], bicubicMatrix(grid, h, scale(h))),
    tx: rt.upload("tmp/pos_embed/tx", [w, grid], bicubicMatrix(grid, w, scale(w))),
  };
}

/**
 * The official condition for skipping the resize — the same patch count and a square grid — where pos_embed
 * is used as it is: the forward is a copy and the backward a sum.
 */
function keptAsIs(pos: Tensor, h: number, w: number): boolean {
  return pos.shape.length === 3 && pos.shape[1] === 1 + h * w && h === w;
}

/** The position embedding for an h×w patch grid: [1 + h·w, C], row 0 the class token's. */
export function posEmbedForward(rt: Runtime, pos: Tensor, h: number, w: number, label: string): Tensor {
  if (keptAsIs(pos, h, w)) {
    const out = rt.tensor(label, [1 + h * w, pos.shape[2]]);
    rt.copy(pos, out);
    return out;
  }
  const p = plan(rt, pos, h, w);
  const { grid: g, channels: c } = p;
  // Along the width for every grid row: tmp[gy] [w, C] = Tx · G[gy].
  const tmp = rt.tensor(`${label}/rows`, [g, w, c]);
  matmul(rt, {
    a: p.tx,
    b: pos,
    c: tmp,
    m: w,
    n: c,
    k: g,
    offB: c,
    batch: g,
    strideA: [0, 0],
    strideB: [0, g * c],
    strideC: [0, w * c],
    label: "pos_embed_resize",
  });
  // Along the height: out[1:] [h, w·C] = Ty · tmp [g, w·C].
  const out = rt.tensor(label, [1 + h * w, c]);
  matmul(rt, { a: p.ty, b: tmp, c: out, m: h, n: w * c, k: g, offC: c, label: "pos_embed_resize" });
  rt.copy(pos, out, c * 4);
  release(rt, tmp, p.ty, p.tx);
  return out;
}

/** Backward of `posEmbedForward`: accumulates dPos [1 + h·w, C] into `grad` [1, 1 + M², C]. */
export function posEmbedBackward(
  rt: Runtime,
  pos: Tensor,
  dPos: Tensor,
  grad: Tensor,
  h: number,
  w: number,
): void {
  if (keptAsIs(pos, h, w)) {
    axpy(rt, dPos, grad, 1, "pos_embed_backward");
    return;
  }
  const p = plan(rt, pos, h, w);
  const { grid: g, channels: c } = p;
  // The class token's row, as it is.
  sumRows(rt, dPos, 1, c, grad, { accumulate: true, label: "pos_embed_backward" });
  // dTmp [g, w·C] = Tyᵀ · dOut[1:]
  const dTmp = rt.tensor("tmp/pos_embed/drows", [g, w, c]);
  matmul(rt, {
    a: p.ty,
    b: dPos,
    c: dTmp,
    m: g,
    n: w * c,
    k: h,
    transA: true,
    offB: c,
    label: "pos_embed_backward",
  });
  // dG[gy] += Txᵀ · dTmp[gy]
  matmul(rt, {
    a: p.tx,
    b: dTmp,
    c: grad,
    m: g,
    n: c,
    k: w,
    transA: true,
    offC: c,
    batch: g,
    strideA: [0, 0],
    strideB: [0, w * c],
    strideC: [0, g * c],
    accumulate: true,
    label: "pos_embed_backward",
  });
  release(rt, dTmp, p.ty, p.tx);
}
