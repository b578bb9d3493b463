// The weight and LayerScale gradients of out = x + γ ⊙ (u·Wᵀ + b) (a DINOv2 block's MLP branch), from
// G = dOutᵀ·u (what W's gradient would be without γ) rather than from the branch's value u·Wᵀ + b, so a
// recomputed block need not run that product again (core/nn/ops/layerscale_linear.ts):
//   dW[c, j] += γ[c]·G[c, j]
//   dγ[c]    += Σ_j W[c, j]·G[c, j] + b[c]·s[c],   s[c] = Σ_t dOut[t, c]
// One invocation a row c of W, summing along it in a fixed order (bit-identical run to run).

override WG: u32 = 64u;
override HAS_DW: bool = false;
override HAS_DGAMMA: bool = false;
override HAS_BIAS: bool = false;

struct Params {
  rows: u32, // W's rows: the branch's channels
  cols: u32, // W's columns: u's features
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> s: array<f32>;
@group(0) @binding(6) var<storage, read_write> dW: array<f32>;
@group(0) @binding(7) var<storage, read_write> dGamma: array<f32>;

@compute @workgroup_size(WG)
fn layerscale_linear_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.rows) { return; }
  let g = gamma[c];
  let row = c * p.cols;
  var dot = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let v = G[row + j];
    if (HAS_DW) { dW[row + j] += g * v; }
    if (HAS_DGAMMA) { dot += W[row + j] * v; }
  }
  if (HAS_DGAMMA) {
    if (HAS_BIAS) { dot += bias[c] * s[c]; }
    dGamma[c] += dot;
  }
}
