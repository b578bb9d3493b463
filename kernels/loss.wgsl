// SiLog loss (metric_depth/util/loss.py, λ = 0.5) over the pixels where valid = 1 and min ≤ target ≤ max:
//   g = log(target) − log(pred),  loss = sqrt(mean(g²) − λ·mean(g)²)
//   ∂loss/∂pred_i = −(g_i − λ·mean(g)) / (count · loss · pred_i)
// Three entry points, all on one layout:
//   silog_partials: workgroup w sums (count, Σg, Σg²) over its grid-stride share into scratch[3w..3w+2]
//   silog_finish:   one workgroup sums the partials, writes stats = (loss, mean, count) at scratch[3P..]
//   silog_backward: the gradient, from stats
// Every sum runs in a fixed order, so loss and gradient are bit-identical run to run.

struct Params {
  n: u32,
  // number of partial-sum workgroups
  parts: u32,
  min_depth: f32,
  max_depth: f32,
  lambda: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> gt: array<f32>;
@group(0) @binding(3) var<storage, read> valid: array<u32>;
@group(0) @binding(4) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

override WG: u32 = 256u;
override HAS_VALID: bool = false;

var<workgroup> sums: array<vec3<f32>, WG>;

fn masked(i: u32) -> bool {
  let t = gt[i];
  // NaN fails both comparisons where the GPU honours IEEE; WGSL does not promise it, so the data loader
  // also writes invalid pixels as 0 with valid = 0.
  return (!HAS_VALID || valid[i] == 1u) && t >= p.min_depth && t <= p.max_depth;
}

fn log_ratio(i: u32) -> f32 {
  return log(gt[i]) - log(pred[i]);
}

fn reduce(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) { sums[lid] += sums[lid + stride]; }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn silog_partials(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var acc = vec3<f32>(0.0);
  for (var i = wg.x * WG + lid.x; i < p.n; i += p.parts * WG) {
    if (masked(i)) {
      let g = log_ratio(i);
      acc += vec3<f32>(1.0, g, g * g);
    }
  }
  sums[lid.x] = acc;
  reduce(lid.x);
  if (lid.x == 0u) {
    scratch[3u * wg.x] = sums[0].x;
    scratch[3u * wg.x + 1u] = sums[0].y;
    scratch[3u * wg.x + 2u] = sums[0].z;
  }
}

@compute @workgroup_size(WG)
fn silog_finish(@builtin(local_invocation_id) lid: vec3<u32>) {
  var acc = vec3<f32>(0.0);
  for (var w = lid.x; w < p.parts; w += WG) {
    acc += vec3<f32>(scratch[3u * w], scratch[3u * w + 1u], scratch[3u * w + 2u]);
  }
  sums[lid.x] = acc;
  reduce(lid.x);
  if (lid.x == 0u) {
    // No usable pixel: the official loss is NaN, which WGSL cannot promise to compute; count = 0 says it
    // and the reader turns it into NaN (the trainer skips the batch).
    let count = sums[0].x;
    let safe = max(count, 1.0);
    let mean = sums[0].y / safe;
    let loss = sqrt(max(sums[0].z / safe - p.lambda * mean * mean, 0.0));
    let base = 3u * p.parts;
    scratch[base] = loss;
    scratch[base + 1u] = mean;
    scratch[base + 2u] = count;
  }
}

@compute @workgroup_size(WG)
fn silog_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * WG + gid.x;
  if (i >= p.n) { return; }
  let base = 3u * p.parts;
  let loss = scratch[base];
  var d = 0.0;
  // At loss 0 the square root has no derivative: 0 is the subgradient, as in tests/train/silog_ref.ts.
  if (masked(i) && loss > 0.0) {
    d = -(log_ratio(i) - p.lambda * scratch[base + 1u]) / (scratch[base + 2u] * loss * pred[i]);
  }
  grad[i] = d;
}
