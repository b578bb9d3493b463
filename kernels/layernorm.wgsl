// LayerNorm over the last axis of a row-major [rows, cols] matrix, y = (x − mean)·rstd·γ + β, with
// rstd = 1/√(var + eps) and the biased variance, as torch.nn.LayerNorm. Every sum runs in a fixed order
// (strided per-thread partials, then a fixed tree), so a recompute is bit-identical.
//
//   forward:         one workgroup per row; saves mean and rstd per row for the backward.
//   backward_input:  one workgroup per row; dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ, x̂ the normalised x.
//   backward_params: one workgroup per WG_C columns; dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.

override WG: u32 = 128u;
override ACCUMULATE: bool = false;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  // forward_rows, backward_input_rows: texel t of a texel view at (t mod 2^shift, t >> shift)
  shift: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// forward: γ; backward: dy
@group(0) @binding(2) var<storage, read> in2: array<f32>;
// forward: β; backward: γ (input) or unused (params)
@group(0) @binding(3) var<storage, read> in3: array<f32>;
// [rows] each; written by forward, read by the backward entry points
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
// forward: y; backward_input: dx; backward_params: dγ
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
// backward_params: dβ
@group(0) @binding(7) var<storage, read_write> out2: array<f32>;

// The row kernels' views (CPU adapters): bindings 1–3 as texel views of the same tensors (core/gpu/texel_view.ts:
// on lavapipe an image load is SIMD code where a storage-buffer load is a loop over the lanes), the output
// as vec4s; backward_input_rows with ACCUMULATE reads the gradient it adds to from a view at binding 7.
@group(0) @binding(1) var xT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var in2T: texture_storage_2d<rgba32float, read>;
@group(0) @binding(3) var in3T: texture_storage_2d<rgba32float, read>;
@group(0) @binding(6) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(7) var accT: texture_storage_2d<rgba32float, read>;

// backward_params_rows: dγ and dβ as vec4s (binding 6 is out4).
@group(0) @binding(7) var<storage, read_write> outb4: array<vec4<f32>>;

// Where texel t of a texel view lies.
fn texel(t: u32) -> vec2<i32> {
  return vec2<i32>(i32(t & ((1u << p.shift) - 1u)), i32(t >> p.shift));
}

var<workgroup> partial: array<f32, WG>;
var<workgroup> partial2: array<f32, WG>;

fn row_of(wg: vec3<u32>) -> u32 {
  return wg.x + wg.y * 65535u;
}

// Sums partial[] and partial2[] over the workgroup; every invocation gets the totals.
fn reduce2(lid: u32, a: f32, b: f32) -> vec2<f32> {
  partial[lid] = a;
  partial2[lid] = b;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
      partial2[lid] += partial2[lid + stride];
    }
    workgroupBarrier();
  }
  let total = vec2<f32>(partial[0], partial2[0]);
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let r = row_of(wg);
  if (r >= p.rows) { return; }
  let lid = lid3.x;
  let base = r * p.cols;
  let n = f32(p.cols);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += x[base + c]; }
  let mu = reduce2(lid, s, 0.0).x / n;
  // Two passes: Σ(x − mean)² does not cancel the way Σx² − n·mean² does.
  var q = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let d = x[base + c] - mu;
    q += d * d;
  }
  let rs = 1.0 / sqrt(reduce2(lid, q, 0.0).x / n + p.eps);
  for (var c = lid; c < p.cols; c += WG) {
    out[base + c] = (x[base + c] - mu) * rs * in2[c] + in3[c];
  }
  if (lid == 0u) {
    mean[r] = mu;
    rstd[r] = rs;
  }
}

@compute @workgroup_size(WG)
fn backward_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let r = row_of(wg);
  if (r >= p.rows) { return; }
  let lid = lid3.x;
  let base = r * p.cols;
  let mu = mean[r];
  let rs = rstd[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let g = in2[base + c] * in3[c];
    sg += g;
    sgx += g * (x[base + c] - mu) * rs;
  }
  let sums = reduce2(lid, sg, sgx) / f32(p.cols);
  for (var c = lid; c < p.cols; c += WG) {
    let g = in2[base + c] * in3[c];
    let xhat = (x[base + c] - mu) * rs;
    var v = rs * (g - sums.x - xhat * sums.y);
    if (ACCUMULATE) { v += out[base + c]; }
    out[base + c] = v;
  }
}

// Workgroup = WG_C columns × (WG / WG_C) row lanes; lanes stride over rows, then a fixed tree over lanes.
const WG_C: u32 = 16u;

@compute @workgroup_size(WG)
fn backward_params(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let lanes = WG / WG_C;
  let col = wg.x * WG_C + lid % WG_C;
  let lane = lid / WG_C;
  var dg = 0.0;
  var db = 0.0;
  if (col < p.cols) {
    for (var r = lane; r < p.rows; r += lanes) {
      let d = in2[r * p.cols + col];
      dg += d * (x[r * p.cols + col] - mean[r]) * rstd[r];
      db += d;
    }
  }
  partial[lid] = dg;
  partial2[lid] = db;
  workgroupBarrier();
  for (var stride = lanes / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial[lid] += partial[lid + stride * WG_C];
      partial2[lid] += partial2[lid + stride * WG_C];
    }
    workgroupBarrier();
  }
  if (lane == 0u && col < p.cols) {
    var g = partial[lid];
    var b = partial2[lid];
    if (ACCUMULATE) {
      g += out[col];
      b += out2[col];
    }
    out[col] = g;
    out2[col] = b;
  }
}

// The forward for CPU adapters: one invocation a row (the lanes of a SIMD group take 8 rows), its sums in
// a fixed order over vec4s of the row, no workgroup memory and no barrier (which a CPU rasteriser runs as
// coroutines). Rows of a multiple of 4 columns, read from texel views.
@compute @workgroup_size(8)
fn forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.y * nwg.x * 8u + gid.x;
  if (r >= p.rows) { return; }
  let quads = p.cols / 4u;
  let base = r * quads;
  let n = f32(p.cols);
  // Summed about the row's first value: a residual stream's rows sit far from zero, and a sequential sum of
  // them would lose the digits a tree keeps.
  let x0 = textureLoad(xT, texel(base)).x;
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < quads; c++) { s += textureLoad(xT, texel(base + c)) - x0; }
  let mu = x0 + ((s.x + s.y) + (s.z + s.w)) / n;
  var q = vec4<f32>(0.0);
  for (var c = 0u; c < quads; c++) {
    let d = textureLoad(xT, texel(base + c)) - mu;
    q += d * d;
  }
  let rs = 1.0 / sqrt(((q.x + q.y) + (q.z + q.w)) / n + p.eps);
  for (var c = 0u; c < quads; c++) {
    out4[base + c] = (textureLoad(xT, texel(base + c)) - mu) * rs * textureLoad(in2T, texel(c)) +
      textureLoad(in3T, texel(c));
  }
  mean[r] = mu;
  rstd[r] = rs;
}

// backward_input for CPU adapters, as forward_rows: a row an invocation, vec4s from texel views, no
// barrier. (g·x̂ sums to about zero and g carries no offset, so plain sums keep their digits here.)
@compute @workgroup_size(8)
fn backward_input_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.y * nwg.x * 8u + gid.x;
  if (r >= p.rows) { return; }
  let quads = p.cols / 4u;
  let base = r * quads;
  let mu = mean[r];
  let rs = rstd[r];
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var c = 0u; c < quads; c++) {
    let g = textureLoad(in2T, texel(base + c)) * textureLoad(in3T, texel(c));
    sg += g;
    sgx += g * (textureLoad(xT, texel(base + c)) - mu) * rs;
  }
  let n = f32(p.cols);
  let mg = ((sg.x + sg.y) + (sg.z + sg.w)) / n;
  let mgx = ((sgx.x + sgx.y) + (sgx.z + sgx.w)) / n;
  for (var c = 0u; c < quads; c++) {
    let g = textureLoad(in2T, texel(base + c)) * textureLoad(in3T, texel(c));
    let xhat = (textureLoad(xT, texel(base + c)) - mu) * rs;
    var v = rs * (g - mg - xhat * mgx);
    if (ACCUMULATE) { v += textureLoad(accT, texel(base + c)); }
    out4[base + c] = v;
  }
}

// backward_params for CPU adapters: four columns an invocation, dy and x read from texel views at bindings
// 1 and 2. Row r goes to partial sum r mod 8 and the partials meet in backward_params' tree, so the sums
// are backward_params' own (8 row lanes there), to the bit.
@compute @workgroup_size(8)
fn backward_params_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let quads = p.cols / 4u;
  let c4 = gid.x;
  if (c4 >= quads) { return; }
  var dg: array<vec4<f32>, 8>;
  var db: array<vec4<f32>, 8>;
  for (var r0 = 0u; r0 < p.rows; r0 += 8u) {
    for (var l = 0u; l < 8u; l++) {
      let r = r0 + l;
      if (r < p.rows) {
        let d = textureLoad(in2T, texel(r * quads + c4));
        dg[l] += d * (textureLoad(xT, texel(r * quads + c4)) - mean[r]) * rstd[r];
        db[l] += d;
      }
    }
  }
  var g = ((dg[0] + dg[4]) + (dg[2] + dg[6])) + ((dg[1] + dg[5]) + (dg[3] + dg[7]));
  var b = ((db[0] + db[4]) + (db[2] + db[6])) + ((db[1] + db[5]) + (db[3] + db[7]));
  if (ACCUMULATE) {
    g += out4[c4];
    b += outb4[c4];
  }
  out4[c4] = g;
  outb4[c4] = b;
}
