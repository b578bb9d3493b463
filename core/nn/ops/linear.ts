/**
 * nn.Linear on rows of tokens: y = x·Wᵀ + b with PyTorch's [out, in] weights, as three matmul products.
 * The backward needs only x (saved by the caller) and W.
 */
import { matmul } from "../../gpu/matmul.ts";
import { sumRows } from "../../gpu/reduce.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

export interface LinearWeights {
  /** [out, in] */
  weight: Tensor;
  /** [out] */
  bias?: Tensor;
}

function dims(x: Tensor, w: LinearWeights): { rows: number; inF: number; outF: number } {
  const [outF, inF] = w.weight.shape;
  if (w.weight.shape.length !== 2 || x.size % inF !== 0 || (w.bias && w.bias.size !== outF)) {
    throw new TrompeError(
      "shape-mismatch",
      `linear: x ${x.name} [${x.shape}] with ${w.weight.name} [${w.weight.shape}]`,
    );
  }
  return { rows: x.size / inF, inF, outF };
}

/** Timing label: the op and the layer's own name (`act/block3/attn/qkv` → `linear/qkv`), not its path. */
function opLabel(label: string, suffix = ""): string {
  return `linear${suffix}/${label.slice(label.lastIndexOf("/") + 1)}`;
}

/** y [rows, out] = x [rows, in]·Wᵀ + b, into a new tensor `label`. */
export function linearForward(rt: Runtime, x: Tensor, w: LinearWeights, label: string): Tensor {
  const { rows, inF, outF } = dims(x, w);
  const y = rt.tensor(label, [...x.shape.slice(0, -1), outF]);
  matmul(rt, {
    a: x,
    b: w.weight,
    c: y,
    m: rows,
    n: outF,
    k: inF,
    transB: true,
    bias: w.bias,
    label: opLabel(label),
  });
  return y;
}

/**
 * Backward of `linearForward`: dW += dyᵀ·x and db += Σ_rows dy into `grads` (absent for frozen weights);
 * returns dx = dy·W as a new tensor `label`, or adds it into `dxInto`; `needInput: false` skips it (the
 * first layer's input is data).
 */
export function linearBackward(
  rt: Runtime,
  x: Tensor,
  w: LinearWeights,
  dy: Tensor,
  grads: LinearWeights | undefined,
  label: string,
  options: { dxInto?: Tensor; needInput?: boolean } = {},
): Tensor | undefined {
  const { rows, inF, outF } = dims(x, w);
  if (dy.size !== rows * outF) {
    throw new TrompeError(
      "shape-mismatch",
      `linear backward: dy ${dy.name} [${dy.shape}] for ${rows}×${outF}`,
    );
  }
  if (grads) {
    matmul(rt, {
      a: dy,
      b: x,
      c: grads.weight,
      m: outF,
      n: inF,
      k: rows,
      transA: true,
      accumulate: true,
      label: opLabel(label, "_backward_dW"),
    });
    if (grads.bias) {
      sumRows(rt, dy, rows, outF, grads.bias, { accumulate: true, label: opLabel(label, "_backward_db") });
    }
  }
  if (options.needInput === false) return undefined;
  const dx = options.dxInto ?? rt.tensor(label, x.shape);
  matmul(rt, {
    a: dy,
    b: w.weight,
    c: dx,
    m: rows,
    n: inF,
    k: outF,
    accumulate: options.dxInto !== undefined,
    label: opLabel(label, "_backward_dx"),
  });
  return dx;
}
