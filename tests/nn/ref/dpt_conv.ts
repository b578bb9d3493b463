/**
 * Float64 CPU references for the DPT head's convolutions, written as the textbook sums (no im2col, no
 * phases) so they share no structure with kernels/conv.wgsl: Conv2d and ConvTranspose2d forward, and each
 * one's gradients to input, weight and bias. Tensors are NCHW, weights as PyTorch stores them.
 */

export type Arr = Float64Array | Float32Array;

export interface Geom {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
}

export function outSize(g: Geom): [number, number] {
  return [
    Math.floor((g.h + 2 * g.pad - g.k) / g.stride) + 1,
    Math.floor((g.w + 2 * g.pad - g.k) / g.stride) + 1,
  ];
}

/**
 * Visits every (batch, co, oy, ox, ci, ky, kx) that connects an input pixel to an output pixel of the conv,
 * with the flat indices of x, w and y.
 */
function eachTap(g: Geom, visit: (xi: number, wi: number, yi: number) => void): void {
  const [oh, ow] = outSize(g);
  for (let b = 0; b < g.batch; b++) {
    for (let co = 0; co < g.cout; co++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const yi = ((b * g.cout + co) * oh + oy) * ow + ox;
          for (let ci = 0; ci < g.cin; ci++) {
            for (let ky = 0; ky < g.k; ky++) {
              const iy = oy * g.stride - g.pad + ky;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.k; kx++) {
                const ix = ox * g.stride - g.pad + kx;
                if (ix < 0 || ix >= g.w) continue;
                visit(
                  ((b * g.cin + ci) * g.h + iy) * g.w + ix,
                  ((co * g.cin + ci) * g.k + ky) * g.k + kx,
                  yi,
                );
              }
            }
          }
        }
      }
    }
  }
}

/** y = conv(x, w) + b; w [cout, cin, k, k]. */
export function conv2dRef(x: Arr, w: Arr, bias: Arr | undefined, g: Geom): Float64Array {
  const [oh, ow] = outSize(g);
  const y = new Float64Array(g.batch * g.cout * oh * ow);
  if (bias) {
    for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / (oh * ow)) % g.cout];
  }
  eachTap(g, (xi, wi, yi) => (y[yi] += w[wi] * x[xi]));
  return y;
}

export function conv2dBackwardRef(
  x: Arr,
  w: Arr,
  dy: Arr,
  g: Geom,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const [oh, ow] = outSize(g);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(g.cout);
  eachTap(g, (xi, wi, yi) => {
    dx[xi] += w[wi] * dy[yi];
    dw[wi] += x[xi] * dy[yi];
  });
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (oh * ow)) % g.cout] += dy[i];
  return { dx, dw, db };
}

/**
 * ConvTranspose2d: x [batch, cin, h, w] → y [batch, cout, (h−1)·s − 2p + k, …], w [cin, cout, k, k].
 * Each input pixel scatters w[ci, co] into a k×k window.
 */
export interface TGeom {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
}

export function tOutSize(g: TGeom): [number, number] {
  return [(g.h - 1) * g.stride - 2 * g.pad + g.k, (g.w - 1) * g.stride - 2 * g.pad + g.k];
}

function eachTransposedTap(g: TGeom, visit: (xi: number, wi: number, yi: number) => void): void {
  const [oh, ow] = tOutSize(g);
  for (let b = 0; b < g.batch; b++) {
    for (let ci = 0; ci < g.cin; ci++) {
      for (let iy = 0; iy < g.h; iy++) {
        for (let ix = 0; ix < g.w; ix++) {
          const xi = ((b * g.cin + ci) * g.h + iy) * g.w + ix;
          for (let co = 0; co < g.cout; co++) {
            for (let ky = 0; ky < g.k; ky++) {
              const oy = iy * g.stride - g.pad + ky;
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < g.k; kx++) {
                const ox = ix * g.stride - g.pad + kx;
                if (ox < 0 || ox >= ow) continue;
                visit(
                  xi,
                  ((ci * g.cout + co) * g.k + ky) * g.k + kx,
                  ((b * g.cout + co) * oh + oy) * ow + ox,
                );
              }
            }
          }
        }
      }
    }
  }
}

export function convTranspose2dRef(x: Arr, w: Arr, bias: Arr | undefined, g: TGeom): Float64Array {
  const [oh, ow] = tOutSize(g);
  const y = new Float64Array(g.batch * g.cout * oh * ow);
  if (bias) {
    for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / (oh * ow)) % g.cout];
  }
  eachTransposedTap(g, (xi, wi, yi) => (y[yi] += w[wi] * x[xi]));
  return y;
}

export function convTranspose2dBackwardRef(
  x: Arr,
  w: Arr,
  dy: Arr,
  g: TGeom,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const [oh, ow] = tOutSize(g);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(g.cout);
  eachTransposedTap(g, (xi, wi, yi) => {
    dx[xi] += w[wi] * dy[yi];
    dw[wi] += x[xi] * dy[yi];
  });
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (oh * ow)) % g.cout] += dy[i];
  return { dx, dw, db };
}

/**
 * Central finite differences of the scalar L = Σ dy·f(…) with respect to `param` (perturbed in place and
 * restored), at `count` spread-out indices: the check that a backward reference is the gradient of its
 * forward.
 */
export function finiteDifference(
  param: Float64Array,
  dy: Arr,
  forward: () => Float64Array,
  count = 12,
  eps = 1e-6,
): { index: number; fd: number }[] {
  const loss = () => forward().reduce((s, v, i) => s + v * dy[i], 0);
  const out = [];
  for (let j = 0; j < count; j++) {
    const index = Math.floor(((j + 0.5) / count) * param.length);
    const keep = param[index];
    param[index] = keep + eps;
    const up = loss();
    param[index] = keep - eps;
    const down = loss();
    param[index] = keep;
    out.push({ index, fd: (up - down) / (2 * eps) });
  }
  return out;
}
