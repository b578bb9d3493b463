// Elementwise kernels every layer needs. All share one binding layout: params, two inputs, one output.
// `b` may be broadcast: element i of `a` pairs with b[i % p.period] (period = n for a plain elementwise op,
// = C for adding a per-channel row to [N, C] tokens).

struct Params {
  n: u32,
  period: u32,
  alpha: f32,
  beta: f32,
  // *_texels: texel t of a texel view at (t mod 2^shift, t >> shift)
  shift: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The same bindings as vec4s, for the *_vec4 entry points (n and period multiples of 4; an entry point uses
// one view or the other). On a CPU adapter a storage access is a loop over the SIMD lanes, so a vec4 an
// invocation halves the cost: 9.4 against 20.2 CPU ms for an affine map of 2.1 M floats on lavapipe.
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

// The same inputs as texel views, for the *_texels entry points (CPU adapters, core/gpu/texel_view.ts: on
// lavapipe an image load is SIMD code where a storage-buffer load is a loop over the lanes).
@group(0) @binding(1) var aT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var bT: texture_storage_2d<rgba32float, read>;
// mul_add_texels' third input
@group(0) @binding(4) var cT: texture_storage_2d<rgba32float, read>;

override WG: u32 = 256u;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  // 2-D grids lift the 65535-workgroups-per-dimension limit for large tensors.
  return (gid.y * nwg.x * WG) + gid.x;
}

// out = alpha·a + beta·b (broadcast)
@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[i] + p.beta * b[i % p.period];
}

// out += alpha·a
@compute @workgroup_size(WG)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = out[i] + p.alpha * a[i];
}

// out = a · b (broadcast), e.g. LayerScale γ over tokens
@compute @workgroup_size(WG)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] * b[i % p.period];
}

@compute @workgroup_size(WG)
fn add_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  out4[i] = p.alpha * a4[i] + p.beta * b4[i % (p.period / 4u)];
}

@compute @workgroup_size(WG)
fn axpy_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  out4[i] = out4[i] + p.alpha * a4[i];
}

@compute @workgroup_size(WG)
fn mul_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u) { return; }
  out4[i] = a4[i] * b4[i % (p.period / 4u)];
}

// out = alpha
@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha;
}

// The *_texels entry points: invocation (x, y) takes texel x of the y-th repeat of b's period (a grid of
// ⌈period/4/WG⌉ × n/period), so no invocation divides: an integer division is a scalar loop on a CPU.
fn texel(t: u32) -> vec2<i32> {
  return vec2<i32>(i32(t & ((1u << p.shift) - 1u)), i32(t >> p.shift));
}

@compute @workgroup_size(WG)
fn add_texels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let quads = p.period / 4u;
  if (gid.x >= quads) { return; }
  let i = gid.y * quads + gid.x;
  out4[i] = p.alpha * textureLoad(aT, texel(i)) + p.beta * textureLoad(bT, texel(gid.x));
}

// out += alpha·a, the old out read from a view bound at b's place (period = n)
@compute @workgroup_size(WG)
fn axpy_texels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n / 4u) { return; }
  out4[i] = textureLoad(bT, texel(i)) + p.alpha * textureLoad(aT, texel(i));
}

@compute @workgroup_size(WG)
fn mul_texels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let quads = p.period / 4u;
  if (gid.x >= quads) { return; }
  let i = gid.y * quads + gid.x;
  out4[i] = textureLoad(aT, texel(i)) * textureLoad(bT, texel(gid.x));
}

// out = a·b (broadcast) + c, the product rounded before the sum: mul then an axpy of c, in one pass.
@compute @workgroup_size(WG)
fn mul_add_texels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let quads = p.period / 4u;
  if (gid.x >= quads) { return; }
  let i = gid.y * quads + gid.x;
  let product = textureLoad(aT, texel(i)) * textureLoad(bT, texel(gid.x));
  out4[i] = product + textureLoad(cT, texel(i));
}
