/** Float64 reference of the exact GELU and its derivative. */
import { normalCdf } from "./erf.ts";

export function gelu(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => v * normalCdf(v));
}

export function geluBackward(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(
    x,
    (v, i) => dy[i] * (normalCdf(v) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)),
  );
}
