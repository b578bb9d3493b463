/**
 * Finite-difference checks of float64 CPU backwards. The scalar is L = ⟨f(inputs), r⟩ for a fixed random r,
 * so the claimed gradient of every input is backward(r); central differences of L at a few coordinates of
 * each input must agree with it.
 */
import { randomArray } from "../../shared.ts";

export type Inputs = Record<string, Float64Array>;

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Coordinates probed per input: both ends, the middle, and a few spread between. */
function probes(n: number): number[] {
  return [...new Set([0, 1, Math.floor(n / 3), Math.floor(n / 2), Math.floor((2 * n) / 3), n - 1])]
    .filter((i) => i >= 0 && i < n);
}

/**
 * Returns the worst relative disagreement max |fd − g| / max(1, |g|) over all probed coordinates.
 * `forward` returns the output; `backward(r)` the gradient of ⟨output, r⟩ for every name in `inputs`.
 */
export function finiteDifferenceError(
  inputs: Inputs,
  forward: (x: Inputs) => Float64Array,
  backward: (x: Inputs, r: Float64Array) => Inputs,
  eps = 1e-5,
): number {
  const out = forward(inputs);
  const r = Float64Array.from(randomArray(out.length, 991));
  const grads = backward(inputs, r);
  let worst = 0;
  for (const [name, value] of Object.entries(inputs)) {
    const g = grads[name];
    if (!g) throw new Error(`backward gave no gradient for ${name}`);
    for (const i of probes(value.length)) {
      const plus = { ...inputs, [name]: value.slice() };
      const minus = { ...inputs, [name]: value.slice() };
      plus[name][i] += eps;
      minus[name][i] -= eps;
      const fd = (dot(forward(plus), r) - dot(forward(minus), r)) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - g[i]) / Math.max(1, Math.abs(g[i])));
    }
  }
  return worst;
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}
