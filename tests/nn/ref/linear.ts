/** Float64 reference of nn.Linear (y = x·Wᵀ + b, W [out, in]) and its backward. */
export function linear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | undefined,
  inF: number,
  outF: number,
): Float64Array {
  const rows = x.length / inF;
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  }
  return y;
}

export function linearBackward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
  inF: number,
  outF: number,
): { x: Float64Array; weight: Float64Array; bias: Float64Array } {
  const rows = x.length / inF;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(outF * inF);
  const db = new Float64Array(outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      const d = dy[r * outF + o];
      db[o] += d;
      for (let i = 0; i < inF; i++) {
        dx[r * inF + i] += d * w[o * inF + i];
        dw[o * inF + i] += d * x[r * inF + i];
      }
    }
  }
  return { x: dx, weight: dw, bias: db };
}
