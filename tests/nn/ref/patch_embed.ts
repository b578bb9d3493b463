/** Float64 reference of a P×P stride-P Conv2d producing tokens [B, N, C], and its weight/bias backward. */
export interface PatchShape {
  batch: number;
  height: number;
  width: number;
  patch: number;
  channels: number;
}

function forEachTap(
  s: PatchShape,
  visit: (token: number, o: number, imageIndex: number, weightIndex: number) => void,
): void {
  const { batch, height, width, patch: p, channels } = s;
  const ph = height / p;
  const pw = width / p;
  for (let b = 0; b < batch; b++) {
    for (let n = 0; n < ph * pw; n++) {
      const y0 = Math.floor(n / pw) * p;
      const x0 = (n % pw) * p;
      for (let o = 0; o < channels; o++) {
        for (let c = 0; c < 3; c++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) {
              visit(
                b * ph * pw + n,
                o,
                ((b * 3 + c) * height + y0 + ky) * width + x0 + kx,
                ((o * 3 + c) * p + ky) * p + kx,
              );
            }
          }
        }
      }
    }
  }
}

export function patchEmbed(
  image: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  s: PatchShape,
): Float64Array {
  const tokens = (s.batch * s.height * s.width) / (s.patch * s.patch);
  const y = new Float64Array(tokens * s.channels);
  for (let t = 0; t < tokens; t++) for (let o = 0; o < s.channels; o++) y[t * s.channels + o] = bias[o];
  forEachTap(s, (t, o, i, w) => y[t * s.channels + o] += weight[w] * image[i]);
  return y;
}

export function patchEmbedBackward(
  image: ArrayLike<number>,
  dy: ArrayLike<number>,
  s: PatchShape,
): { weight: Float64Array; bias: Float64Array } {
  const weight = new Float64Array(s.channels * 3 * s.patch * s.patch);
  const bias = new Float64Array(s.channels);
  for (let i = 0; i < dy.length; i++) bias[i % s.channels] += dy[i];
  forEachTap(s, (t, o, i, w) => weight[w] += dy[t * s.channels + o] * image[i]);
  return { weight, bias };
}
