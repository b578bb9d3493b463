/** Float64 reference of LayerNorm over the last axis (biased variance) and its backward. */
export function layerNorm(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  cols: number,
  eps: number,
): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const { mean, rstd } = stats(x, r, cols, eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = (x[r * cols + c] - mean) * rstd * gamma[c] + beta[c];
  }
  return y;
}

function stats(x: ArrayLike<number>, r: number, cols: number, eps: number): { mean: number; rstd: number } {
  let mean = 0;
  for (let c = 0; c < cols; c++) mean += x[r * cols + c];
  mean /= cols;
  let v = 0;
  for (let c = 0; c < cols; c++) v += (x[r * cols + c] - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / cols + eps) };
}

export function layerNormBackward(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  dy: ArrayLike<number>,
  cols: number,
  eps: number,
): { x: Float64Array; gamma: Float64Array; beta: Float64Array } {
  const dx = new Float64Array(x.length);
  const dGamma = new Float64Array(cols);
  const dBeta = new Float64Array(cols);
  for (let r = 0; r < x.length / cols; r++) {
    const { mean, rstd } = stats(x, r, cols, eps);
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xhat = (x[i] - mean) * rstd;
      const g = dy[i] * gamma[c];
      sg += g;
      sgx += g * xhat;
      dGamma[c] += dy[i] * xhat;
      dBeta[c] += dy[i];
    }
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xhat = (x[i] - mean) * rstd;
      dx[i] = rstd * (dy[i] * gamma[c] - sg / cols - (xhat * sgx) / cols);
    }
  }
  return { x: dx, gamma: dGamma, beta: dBeta };
}
