// A convolution's input gradient from its columns (core/nn/ops/conv_product.ts): cols = Wᵀ·dy, one batch
// item's [Cin·KH·KW, OH·OW], computed by the CPU matmul path; each input pixel sums the columns of the taps
// that read it, dx[b, ci, iy, ix] = Σ cols[(ci·KH + ky)·KW + kx, oy·OW + ox] over iy = oy·s + ky − pad and
// ix = ox·s + kx − pad. With kernel = stride and no padding (a transposed convolution's upsampling) each
// pixel has exactly one tap. The bias (a transposed convolution's), a ReLU mask and accumulation follow.

override HAS_BIAS: bool = false;
override MASK_RES: bool = false; // dx = 0 where res ≤ 0 (the gradient through a ReLU)
override ACCUMULATE: bool = false;

struct Params {
  cin: u32, h: u32, w: u32,
  oh: u32, ow: u32,
  kh: u32, kw: u32, stride: u32, pad: u32,
  b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> res: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// gid.x: input pixel (lanes along a row), gid.y: channel.
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pixels = p.h * p.w;
  let ci = gid.y;
  if (gid.x >= pixels || ci >= p.cin) { return; }
  // Padded coordinates; the taps that reach them are ky ≡ iy (mod s), from iy mod s up in steps of s.
  let iy = gid.x / p.w + p.pad;
  let ix = gid.x % p.w + p.pad;
  let s = p.stride;
  var sum = 0.0;
  for (var ky = iy % s; ky < p.kh; ky += s) {
    let oy = (iy - ky) / s;
    if (ky > iy || oy >= p.oh) { continue; }
    for (var kx = ix % s; kx < p.kw; kx += s) {
      let ox = (ix - kx) / s;
      if (kx > ix || ox >= p.ow) { continue; }
      let row = (ci * p.kh + ky) * p.kw + kx;
      sum += cols[(row * p.oh + oy) * p.ow + ox];
    }
  }
  let at = (p.b * p.cin + ci) * pixels + gid.x;
  if (HAS_BIAS) { sum += bias[ci]; }
  if (MASK_RES && res[at] <= 0.0) { sum = 0.0; }
  if (ACCUMULATE) { sum += dx[at]; }
  dx[at] = sum;
}
