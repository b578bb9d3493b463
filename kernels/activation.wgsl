// Pointwise activations, forward and backward (GELU, SwiGLU's gate for ViT-g, the DPT head's ReLU and
// Sigmoid). One binding layout for the family: params, the forward input x, the output gradient dy (unused
// by forward entry points), and the output (y, or dx).
// Backward entry points recompute what they need from x, so only x is saved.
//
// GELU is PyTorch's exact one, x·Φ(x) with Φ(x) = ½·erfc(−x/√2). WGSL has no erf, so:
//   |x|/√2 < 0.5: erf(z) = z·P(z²), a least-squares fit of erf(z)/z in float64 (relative error 1.3e-11);
//                 1 ± erf stays above 0.47, so forming Φ = ½(1 + erf) loses at most a bit;
//   otherwise:    erfc(z) = exp(−x²/2)·R(t), t = 1/(1 + z/2), R a fit of erfc(z)·exp(z²) on z ∈ [0.5, 10]
//                 (relative error 2.4e-10). Φ comes from erfc directly, never from 1 − erf, so the
//                 negative tail keeps its relative accuracy where PyTorch's 1 + erf cancels.
// exp(−x²/2) must not round its argument: an error δ in the exponent is a relative error δ in the result,
// and x²/2 reaches 72 at |x| = 12. So x²/2 = u + v with u = s²/2 exact (s = x cut to 12 significant bits)
// and v = (x−s)(x+s)/2 small, and exp(−u−v) = 2⁻ⁿ·exp(−r) with r = u + v − n·ln2 reduced Cody–Waite style
// (n·LN2_HI is exact, so is u − n·LN2_HI): the exp left to the driver only sees |r| ≤ 0.35, where even a
// driver whose exp is exp2(x·log2 e) stays within an ulp or two.

struct Params {
  n: u32,
  // swiglu: the hidden width H (x is [rows, 2H], out [rows, H]); unused elsewhere
  width: u32,
  // *_texels: texel t of a texel view at (t mod 2^shift, t >> shift)
  shift: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// vec4 views of the same bindings for the *_vec4 entry points (as in elementwise.wgsl).
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

// x and dy as texel views, for the *_texels entry points (CPU adapters, core/gpu/texel_view.ts: on lavapipe
// an image load is SIMD code where a storage-buffer load is a loop over the lanes).
@group(0) @binding(1) var xT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var dyT: texture_storage_2d<rgba32float, read>;

override WG: u32 = 256u;

fn texel(t: u32) -> vec2<i32> {
  return vec2<i32>(i32(t & ((1u << p.shift) - 1u)), i32(t >> p.shift));
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  // 2-D grids lift the 65535-workgroups-per-dimension limit.
  return gid.y * nwg.x * WG + gid.x;
}

// GELU's maths begin (kernels/matmul_cpu.gen.ts copies them into its texture-output kernel)
const SQRT1_2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;
const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693145751953125; // ln 2 to 15 significant bits
const LN2_LO: f32 = 1.4286068202862268e-06; // ln 2 − LN2_HI

// exp(−a²/2) for a ≥ 0.
fn gauss(a: f32) -> f32 {
  let s = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  let u = 0.5 * s * s;
  let v = 0.5 * (a - s) * (a + s);
  let n = round((u + v) * LOG2E);
  let r = (u - n * LN2_HI) + v - n * LN2_LO;
  return ldexp(exp(-r), -i32(n));
}

// Φ(x), the standard normal CDF.
fn normal_cdf(v: f32) -> f32 {
  let a = abs(v);
  let z = a * SQRT1_2;
  if (z < 0.5) {
    let t = z * z;
    var q = -7.706191973e-04;
    q = q * t + 5.201192107e-03;
    q = q * t - 2.686332911e-02;
    q = q * t + 1.128377616e-01;
    q = q * t - 3.761263788e-01;
    q = q * t + 1.128379226e+00;
    return 0.5 + 0.5 * sign(v) * (z * q);
  }
  let t = 1.0 / (1.0 + 0.5 * z);
  var r = 6.512445956e-02;
  r = r * t - 3.407494426e-01;
  r = r * t + 7.164857388e-01;
  r = r * t - 7.220214009e-01;
  r = r * t + 3.336820304e-01;
  r = r * t - 1.589754373e-01;
  r = r * t + 1.262776107e-01;
  r = r * t + 1.681974679e-01;
  r = r * t + 2.478767037e-01;
  r = r * t + 2.820094824e-01;
  r = r * t + 2.820987105e-01;
  r = r * t - 7.340978669e-08;
  let half_erfc = 0.5 * gauss(a) * r;
  return select(1.0 - half_erfc, half_erfc, v < 0.0);
}

// y = x·Φ(x)
fn gelu1(v: f32) -> f32 {
  return v * normal_cdf(v);
}
// GELU's maths end

// dx = dy·(Φ(x) + x·φ(x))
fn gelu_grad1(v: f32, g: f32) -> f32 {
  return g * (normal_cdf(v) + v * INV_SQRT_2PI * gauss(abs(v)));
}

@compute @workgroup_size(WG)
fn gelu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = gelu1(x[i]);
}

@compute @workgroup_size(WG)
fn gelu_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  let v = x4[i];
  out4[i] = vec4<f32>(gelu1(v.x), gelu1(v.y), gelu1(v.z), gelu1(v.w));
}

@compute @workgroup_size(WG)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = gelu_grad1(x[i], dy[i]);
}

@compute @workgroup_size(WG)
fn gelu_backward_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  let v = x4[i];
  let g = dy4[i];
  out4[i] = vec4<f32>(gelu_grad1(v.x, g.x), gelu_grad1(v.y, g.y), gelu_grad1(v.z, g.z), gelu_grad1(v.w, g.w));
}

@compute @workgroup_size(WG)
fn gelu_texels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  let v = textureLoad(xT, texel(i));
  out4[i] = vec4<f32>(gelu1(v.x), gelu1(v.y), gelu1(v.z), gelu1(v.w));
}

@compute @workgroup_size(WG)
fn gelu_backward_texels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  let v = textureLoad(xT, texel(i));
  let g = textureLoad(dyT, texel(i));
  out4[i] = vec4<f32>(gelu_grad1(v.x, g.x), gelu_grad1(v.y, g.y), gelu_grad1(v.z, g.z), gelu_grad1(v.w, g.w));
}

// The DPT head's activations. SCALE is the metric head's max_depth (an override constant: one pipeline per
// checkpoint's value, and the Params layout stays the family's).
override SCALE: f32 = 1.0;

// y = max(x, 0)
@compute @workgroup_size(WG)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = max(x[i], 0.0);
}

@compute @workgroup_size(WG)
fn relu_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  out4[i] = max(x4[i], vec4<f32>(0.0));
}

// dx = dy where x > 0 (x may be the ReLU's input or its output: both are positive at the same places)
@compute @workgroup_size(WG)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = select(0.0, dy[i], x[i] > 0.0);
}

// y = SCALE·σ(x); exp(−x) overflowing to +inf for x < −88 gives the correct 0.
@compute @workgroup_size(WG)
fn sigmoid_scaled(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = SCALE / (1.0 + exp(-x[i]));
}

// dx = dy·SCALE·σ(x)·(1 − σ(x)), with 1 − σ(x) = σ(−x) formed directly (no cancellation for large x).
@compute @workgroup_size(WG)
fn sigmoid_scaled_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = dy[i] * SCALE / ((1.0 + exp(-v)) * (1.0 + exp(v)));
}

fn logistic(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

// DINOv2's SwiGLUFFNFused gate: x = [a | b] per row (w12's output chunked in two), out = silu(a)·b.
@compute @workgroup_size(WG)
fn swiglu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let at = (i / p.width) * 2u * p.width + i % p.width;
  let a = x[at];
  out[i] = a * logistic(a) * x[at + p.width];
}

// dx = [dy·b·silu'(a) | dy·silu(a)], silu'(a) = σ(a)·(1 + a·(1 − σ(a))); one invocation per (row, j).
@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let at = (i / p.width) * 2u * p.width + i % p.width;
  let a = x[at];
  let b = x[at + p.width];
  let sa = logistic(a);
  out[at] = dy[i] * b * sa * (1.0 + a * (1.0 - sa));
  out[at + p.width] = dy[i] * a * sa;
}
