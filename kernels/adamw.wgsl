// One AdamW step on one parameter tensor, torch.optim.AdamW's single-tensor algorithm:
//   p ← p − lr·wd·p                          (decoupled weight decay, before the moments)
//   m ← m + (1 − β1)·(g − m)                 (torch's lerp_)
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// Every scalar (1 − β1 included) is computed on the CPU in float64 and rounded once, as torch rounds its
// Python-float scalars; so one pipeline serves every step and every parameter.

struct Params {
  n: u32,
  // lr·wd
  decay: f32,
  // 1 − β1
  lerp: f32,
  beta2: f32,
  // 1 − β2
  one_minus_beta2: f32,
  // lr / (1 − β1^t)
  step_size: f32,
  // √(1 − β2^t)
  bc2_sqrt: f32,
  eps: f32,
  // main_texels: texel t of a texel view at (t mod 2^shift, t >> shift)
  shift: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
// vec4 views of the same bindings, for main_vec4 (n a multiple of 4): on a CPU adapter each storage access
// is a loop over the SIMD lanes, and a vec4 an invocation makes a quarter of them.
@group(0) @binding(1) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> param4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v4: array<vec4<f32>>;

// main_texels (CPU adapters) reads the gradient and the old parameter and moments from texel views
// (core/gpu/texel_view.ts: on lavapipe an image load is SIMD code where a storage-buffer load is a loop over
// the lanes) and stores through the vec4 views.
@group(0) @binding(1) var gradT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(5) var paramT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(6) var mT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(7) var vT: texture_storage_2d<rgba32float, read>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // 2-D grids lift the 65535-workgroups-per-dimension limit for ViT-L's 4M-element weights.
  let i = gid.y * nwg.x * WG + gid.x;
  if (i >= p.n) { return; }
  let g = grad[i];
  // p − decay·p rather than p·(1 − decay): 1 − 1e-6 is not representable in f32, the product is.
  var w = param[i] - p.decay * param[i];
  let mi = m[i] + p.lerp * (g - m[i]);
  let vi = p.beta2 * v[i] + p.one_minus_beta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  w -= p.step_size * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
  param[i] = w;
}

@compute @workgroup_size(WG)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * WG + gid.x;
  if (i >= p.n / 4u) { return; }
  let g = grad4[i];
  var w = param4[i] - p.decay * param4[i];
  let mi = m4[i] + p.lerp * (g - m4[i]);
  let vi = p.beta2 * v4[i] + p.one_minus_beta2 * g * g;
  m4[i] = mi;
  v4[i] = vi;
  w -= p.step_size * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
  param4[i] = w;
}

@compute @workgroup_size(WG)
fn main_texels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * WG + gid.x;
  if (i >= p.n / 4u) { return; }
  let t = vec2<i32>(i32(i & ((1u << p.shift) - 1u)), i32(i >> p.shift));
  let g = textureLoad(gradT, t);
  let w0 = textureLoad(paramT, t);
  let m0 = textureLoad(mT, t);
  var w = w0 - p.decay * w0;
  let mi = m0 + p.lerp * (g - m0);
  let vi = p.beta2 * textureLoad(vT, t) + p.one_minus_beta2 * g * g;
  m4[i] = mi;
  v4[i] = vi;
  w -= p.step_size * mi / (sqrt(vi) / p.bc2_sqrt + p.eps);
  param4[i] = w;
}
