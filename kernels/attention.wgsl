// The softmax of materialised attention scores, in place over rows of a row-major [rows, cols] matrix (one
// row per query, one column per key). QKᵀ and P·V are matmuls (core/gpu/matmul.ts reads the heads in
// place from the qkv buffer); only the softmax needs a kernel of its own.
//
//   softmax:          s ← exp(s − max) / Σ exp(s − max), in float32, one workgroup per row.
//   softmax_backward: dP ← P ⊙ (dP − Σ_j dP·P), the gradient to the scores, in place over dP.
// Sums and maxima run in a fixed order, so a recompute (activation checkpointing) is bit-identical.
//
// softmax_rows / softmax_backward_rows are the same for CPU adapters (lavapipe/llvmpipe), one invocation per
// row: there a workgroup is one thread running its invocations as SIMD lanes, and the barriers of the
// tree reductions above turn the shader into coroutines that cost more than the arithmetic. (Where its
// shape allows, a CPU adapter runs the fused kernels of attention_cpu.wgsl instead and never gets here.)

override WG: u32 = 128u;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// softmax_backward: P; softmax: unused
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> s: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn row_of(wg: vec3<u32>) -> u32 {
  return wg.x + wg.y * 65535u;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] = max(partial[lid], partial[lid + stride]); }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let r = row_of(wg);
  if (r >= p.rows) { return; }
  let lid = lid3.x;
  let base = r * p.cols;
  var m = -0x1.fffffep+127f; // -f32 max; the decimal -3.4028235e38 lies past it, which Tint refuses
  for (var c = lid; c < p.cols; c += WG) { m = max(m, s[base + c]); }
  m = reduce_max(lid, m);
  var sum = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let e = exp(s[base + c] - m);
    s[base + c] = e;
    sum += e;
  }
  let inv = 1.0 / reduce_sum(lid, sum);
  for (var c = lid; c < p.cols; c += WG) { s[base + c] *= inv; }
}

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let r = row_of(wg);
  if (r >= p.rows) { return; }
  let lid = lid3.x;
  let base = r * p.cols;
  var dot = 0.0;
  for (var c = lid; c < p.cols; c += WG) { dot += s[base + c] * probs[base + c]; }
  dot = reduce_sum(lid, dot);
  for (var c = lid; c < p.cols; c += WG) { s[base + c] = probs[base + c] * (s[base + c] - dot); }
}

// Rows for the one-invocation-per-row entry points: gid.x + gid.y·(65535·ROW_WG), see rowsGrid.
const ROW_WG = 8u;

fn row_of_invocation(gid: vec3<u32>) -> u32 {
  return gid.x + gid.y * 65535u * ROW_WG;
}

@compute @workgroup_size(ROW_WG)
fn softmax_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = row_of_invocation(gid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var m = -0x1.fffffep+127f; // -f32 max; the decimal -3.4028235e38 lies past it, which Tint refuses
  for (var c = 0u; c < p.cols; c++) { m = max(m, s[base + c]); }
  var sum = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let e = exp(s[base + c] - m);
    s[base + c] = e;
    sum += e;
  }
  let inv = 1.0 / sum;
  for (var c = 0u; c < p.cols; c++) { s[base + c] *= inv; }
}

@compute @workgroup_size(ROW_WG)
fn softmax_backward_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = row_of_invocation(gid);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var dot = 0.0;
  for (var c = 0u; c < p.cols; c++) { dot += s[base + c] * probs[base + c]; }
  for (var c = 0u; c < p.cols; c++) { s[base + c] = probs[base + c] * (s[base + c] - dot); }
}
