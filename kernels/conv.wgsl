// 2-D convolution as an implicit GEMM: the im2col matrix is never stored, each tile of it is gathered from
// the image as the K loop reaches it. One kernel serves the three products of a convolution
//   y  = conv(x, w)       MODE 0: M = Cout, N = OH·OW (one batch item per z), K = Cin·KH·KW
//   dx = conv_T(dy, w)    MODE 1: M = Cin,  N = input pixels of one stride phase, K = Cout·taps of that phase
//   dw = dy ⋆ x           MODE 2: M = Cout, N = Cin·KH·KW, K = B·OH·OW
// and MODE 1 is also the forward of ConvTranspose2d (whose [in, out, kH, kW] weights are a conv's [Cout, Cin, …]).
//
// MODE 1 visits only the taps that reach a pixel: with stride s, input row iy receives kernel rows
// ky ≡ (iy + pad) mod s, so the input is split into s² phases (z = b·s² + phase), each a dense GEMM. A 4×4/s4
// transposed conv thus costs Cin MACs per output, not 16·Cin.
//
// Tiling as in matmul.wgsl: each invocation owns 4×4 outputs in four vec4 registers; a workgroup owns a
// (4·WG_Y)×(4·WG_X) tile and walks K in steps of TILE_K through workgroup memory.
// Shapes are always those of the convolution: x [B, Cin, H, W], w [Cout, Cin, KH, KW], y [B, Cout, OH, OW].

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TILE_K: u32 = 16u;
override MODE: u32 = 0u;
override HAS_BIAS: bool = false; // MODE 0: + bias[co]; MODE 1: + bias[ci] (a transposed conv's bias)
override RELU_IN: bool = false; // MODES 0, 2: x is read through ReLU (a residual unit's pre-activation)
override RELU_OUT: bool = false; // MODE 0: y = relu(conv + bias)
override ADD_RES: bool = false; // MODE 0: y += res, after RELU_OUT (a residual unit's skip connection)
override MASK_RES: bool = false; // MODE 1: dx *= (res > 0), the gradient through a ReLU whose input is res
override ACCUMULATE: bool = false; // out += result
override TOKENS: bool = false; // x (MODES 0, 2) or dx (MODE 1) is ViT tokens [B, H·W, Cin], not [B, Cin, H, W]

struct Params {
  batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, stride: u32, pad: u32,
  // MODE 2 splits K (batch·pixels) into chunks of kChunk, one per z: split z sums its chunk into the
  // partial product out[z·M·N ...]; with one chunk it writes dw itself. (0 in the other modes.)
  kChunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>; // MODES 0, 1: w; MODE 2: dy
@group(0) @binding(2) var<storage, read> B: array<f32>; // MODES 0, 2: x; MODE 1: dy
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<vec4<f32>, TILE_K * WG_Y>;
var<workgroup> Bs: array<vec4<f32>, TILE_K * WG_X>;

// The GEMM this workgroup computes, set once per invocation.
var<private> gM: u32;
var<private> gN: u32;
var<private> gK: u32;
var<private> bz: u32; // batch item (MODES 0, 1)
var<private> ry: u32; // MODE 1: the phase's first input row/column and kernel row/column
var<private> rx: u32;
var<private> ky0: u32;
var<private> kx0: u32;
var<private> ntx: u32; // MODE 1: kernel columns per phase; taps per phase = nty·ntx
var<private> ntaps: u32;
var<private> npw: u32; // MODE 1: phase columns
var<private> kBegin: u32; // the K range this workgroup sums: all of K but in a split MODE 2
var<private> kEnd: u32;
var<workgroup> kRange: vec2<u32>;
var<private> split: u32; // MODE 2: which K chunk

fn ceil_div(a: u32, b: u32) -> u32 { return (a + b - 1u) / b; }

fn taps(k: u32, k0: u32) -> u32 {
  if (k0 >= k) { return 0u; }
  return ceil_div(k - k0, p.stride);
}

// x[b, ci, iy, ix] with zero padding outside the image.
fn x_at(b: u32, ci: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
  var v: f32;
  if (TOKENS) {
    v = B[(b * p.h * p.w + u32(iy) * p.w + u32(ix)) * p.cin + ci];
  } else {
    v = B[((b * p.cin + ci) * p.h + u32(iy)) * p.w + u32(ix)];
  }
  if (RELU_IN) { v = max(v, 0.0); }
  return v;
}

fn a_at(m: u32, k: u32) -> f32 {
  if (m >= gM || k >= kEnd) { return 0.0; }
  if (MODE == 0u) { return A[m * gK + k]; }
  if (MODE == 1u) {
    let co = k / ntaps;
    let t = k % ntaps;
    let ky = ky0 + (t / ntx) * p.stride;
    let kx = kx0 + (t % ntx) * p.stride;
    return A[((co * p.cin + m) * p.kh + ky) * p.kw + kx];
  }
  let P = p.oh * p.ow;
  return A[((k / P) * p.cout + m) * P + k % P];
}

fn b_at(k: u32, n: u32) -> f32 {
  if (k >= kEnd || n >= gN) { return 0.0; }
  let s = i32(p.stride);
  let pad = i32(p.pad);
  if (MODE == 0u) {
    let kk = p.kh * p.kw;
    let r = k % kk;
    let iy = i32(n / p.ow) * s + i32(r / p.kw) - pad;
    let ix = i32(n % p.ow) * s + i32(r % p.kw) - pad;
    return x_at(bz, k / kk, iy, ix);
  }
  if (MODE == 1u) {
    let co = k / ntaps;
    let t = k % ntaps;
    let ky = ky0 + (t / ntx) * p.stride;
    let kx = kx0 + (t % ntx) * p.stride;
    let iy = ry + (n / npw) * p.stride;
    let ix = rx + (n % npw) * p.stride;
    // (iy + pad − ky) is a multiple of the stride by the choice of phase.
    let oy = (i32(iy) + pad - i32(ky)) / s;
    let ox = (i32(ix) + pad - i32(kx)) / s;
    if (oy < 0 || ox < 0 || oy >= i32(p.oh) || ox >= i32(p.ow)) { return 0.0; }
    return B[((bz * p.cout + co) * p.oh + u32(oy)) * p.ow + u32(ox)];
  }
  let P = p.oh * p.ow;
  let q = k % P;
  let kk = p.kh * p.kw;
  let r = n % kk;
  let iy = i32(q / p.ow) * s + i32(r / p.kw) - pad;
  let ix = i32(q % p.ow) * s + i32(r % p.kw) - pad;
  return x_at(k / P, n / kk, iy, ix);
}

fn setup(z: u32) {
  if (MODE == 0u) {
    bz = z;
    gM = p.cout;
    gN = p.oh * p.ow;
    gK = p.cin * p.kh * p.kw;
  } else if (MODE == 1u) {
    let phases = p.stride * p.stride;
    bz = z / phases;
    let phase = z % phases;
    ry = phase / p.stride;
    rx = phase % p.stride;
    ky0 = (ry + p.pad) % p.stride;
    kx0 = (rx + p.pad) % p.stride;
    ntx = taps(p.kw, kx0);
    ntaps = taps(p.kh, ky0) * ntx;
    var nph = 0u;
    npw = 0u;
    if (p.h > ry) { nph = ceil_div(p.h - ry, p.stride); }
    if (p.w > rx) { npw = ceil_div(p.w - rx, p.stride); }
    gM = p.cin;
    gN = nph * npw;
    gK = p.cout * ntaps;
  } else {
    gM = p.cout;
    gN = p.cin * p.kh * p.kw;
    gK = p.batch * p.oh * p.ow;
    split = z;
    kBegin = z * p.kChunk;
    kEnd = min(gK, kBegin + p.kChunk);
    return;
  }
  kBegin = 0u;
  kEnd = gK;
}

fn store(m: u32, n: u32, acc: f32) {
  if (m >= gM || n >= gN) { return; }
  var v = acc;
  var at: u32;
  if (MODE == 0u) {
    at = (bz * p.cout + m) * gN + n;
    if (HAS_BIAS) { v += bias[m]; }
    if (RELU_OUT) { v = max(v, 0.0); }
    if (ADD_RES) { v += res[at]; }
  } else if (MODE == 1u) {
    let iy = ry + (n / npw) * p.stride;
    let ix = rx + (n % npw) * p.stride;
    if (TOKENS) {
      at = (bz * p.h * p.w + iy * p.w + ix) * p.cin + m;
    } else {
      at = ((bz * p.cin + m) * p.h + iy) * p.w + ix;
    }
    if (HAS_BIAS) { v += bias[m]; }
    if (MASK_RES && res[at] <= 0.0) { v = 0.0; }
  } else {
    at = (split * gM + m) * gN + n;
  }
  if (ACCUMULATE) { v += out[at]; }
  out[at] = v;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  setup(wg.z);
  let tx = lid.x;
  let ty = lid.y;
  let flat = ty * WG_X + tx;
  let threads = WG_X * WG_Y;
  let m0 = wg.y * WG_Y * 4u;
  let n0 = wg.x * WG_X * 4u;
  // Whole workgroups past a phase's (smaller) N still take part in the barriers below, storing nothing.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  // The loop holds barriers, so its bounds must be uniform in WGSL's analysis, which a private variable is
  // not (Tint refuses the shader; naga does not check): the same values, read as workgroup-uniform.
  if (flat == 0u) { kRange = vec2<u32>(kBegin, kEnd); }
  let range = workgroupUniformLoad(&kRange);
  for (var k0 = range.x; k0 < range.y; k0 += TILE_K) {
    for (var s = flat; s < TILE_K * WG_Y; s += threads) {
      let k = s % TILE_K;
      let g = s / TILE_K;
      let m = m0 + g * 4u;
      As[k * WG_Y + g] = vec4<f32>(
        a_at(m, k0 + k), a_at(m + 1u, k0 + k), a_at(m + 2u, k0 + k), a_at(m + 3u, k0 + k));
    }
    for (var s = flat; s < TILE_K * WG_X; s += threads) {
      let g = s % WG_X;
      let k = s / WG_X;
      let n = n0 + g * 4u;
      Bs[k * WG_X + g] = vec4<f32>(
        b_at(k0 + k, n), b_at(k0 + k, n + 1u), b_at(k0 + k, n + 2u), b_at(k0 + k, n + 3u));
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      let a = As[k * WG_Y + ty];
      let b = Bs[k * WG_X + tx];
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }

  let m = m0 + ty * 4u;
  let n = n0 + tx * 4u;
  for (var j = 0u; j < 4u; j++) {
    store(m, n + j, acc0[j]);
    store(m + 1u, n + j, acc1[j]);
    store(m + 2u, n + j, acc2[j]);
    store(m + 3u, n + j, acc3[j]);
  }
}

// db[co] = Σ_b Σ_pixels dy[b, co, ·] (+ db[co] with ACCUMULATE), with the conv's own Params and bindings
// (dy in A, db in out): one workgroup per channel, a tree sum.
const BIAS_WG = 256u;
var<workgroup> partial: array<f32, BIAS_WG>;

@compute @workgroup_size(BIAS_WG)
fn bias_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wg.x;
  let pixels = p.oh * p.ow;
  var sum = 0.0;
  for (var b = 0u; b < p.batch; b++) {
    let base = (b * p.cout + c) * pixels;
    for (var i = lid.x; i < pixels; i += BIAS_WG) { sum += A[base + i]; }
  }
  partial[lid.x] = sum;
  workgroupBarrier();
  for (var half = BIAS_WG / 2u; half > 0u; half /= 2u) {
    if (lid.x < half) { partial[lid.x] += partial[lid.x + half]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    var v = partial[0];
    if (ACCUMULATE) { v += out[c]; }
    out[c] = v;
  }
}
