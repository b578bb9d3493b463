// Sums over one axis of a row-major [rows, cols] matrix.
//   sum_rows: out[c] (+)= Σ_r x[r, c]   (bias gradients: sum over tokens)
//   sum_cols: out[r] (+)= Σ_c x[r, c]   (per-row statistics)
// Each output is summed in a fixed order, so results are bit-identical run to run.

override WG: u32 = 256u;
override ACCUMULATE: bool = false;

struct Params {
  rows: u32,
  cols: u32,
  alpha: f32,
  // sum_rows_texels: texel t of a texel view at (t mod 2^shift, t >> shift)
  shift: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// sum_rows_texels (CPU adapters): x as a texel view (core/gpu/texel_view.ts: on lavapipe an image load is
// SIMD code where a storage-buffer load is a loop over the lanes), out as vec4s.
@group(0) @binding(1) var xT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn sum_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { s += x[r * p.cols + c]; }
  var v = p.alpha * s;
  if (ACCUMULATE) { v += out[c]; }
  out[c] = v;
}

@compute @workgroup_size(WG)
fn sum_cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.x + wg.y * 65535u;
  if (r >= p.rows) { return; }
  var s = 0.0;
  for (var c = lid.x; c < p.cols; c += WG) { s += x[r * p.cols + c]; }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) { partial[lid.x] += partial[lid.x + stride]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    var v = p.alpha * partial[0];
    if (ACCUMULATE) { v += out[r]; }
    out[r] = v;
  }
}

// sum_rows over four columns an invocation, read from a texel view (cols a multiple of 4): the same sums in
// the same order as sum_rows, so the same bits.
@compute @workgroup_size(WG)
fn sum_rows_texels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c4 = gid.x;
  let quads = p.cols / 4u;
  if (c4 >= quads) { return; }
  let mask = (1u << p.shift) - 1u;
  var s = vec4<f32>(0.0);
  for (var r = 0u; r < p.rows; r++) {
    let t = r * quads + c4;
    s += textureLoad(xT, vec2<i32>(i32(t & mask), i32(t >> p.shift)));
  }
  var v = p.alpha * s;
  if (ACCUMULATE) { v += out4[c4]; }
  out4[c4] = v;
}
