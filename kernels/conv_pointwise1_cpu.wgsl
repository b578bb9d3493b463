// A 1×1 convolution to one output channel, the forward, for CPU adapters: the DPT head's last conv
// (output_conv2.2, 32 → 1 at the full input size). The direct kernel (conv_cpu.wgsl) computes output
// channels 16 at a time and packs the whole input first, and a product's rows come 32 at a time: for one
// channel both spent ~15/16 of their time on nothing. Here each invocation takes 4 consecutive pixels of one
// batch item (the host checks the plane is a whole number of vec4s) and walks the input channels.

override HAS_BIAS: bool = false;
override RELU_IN: bool = false; // reads relu(x)
override RELU_OUT: bool = false; // y = relu(conv + bias)
override ADD_RES: bool = false; // y += res, after RELU_OUT
override ACCUMULATE: bool = false; // y += previous y, last

struct Params {
  cin: u32,
  quads: u32, // vec4s per plane: H·W / 4
  batch: u32,
  // weight_grad: its partial sums a channel, the dispatch's batch item and first channel, the views' shift
  splits: u32, b: u32, c0: u32, shift: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= p.batch * p.quads) { return; }
  let b = i / p.quads;
  var at = b * p.cin * p.quads + i % p.quads;
  var acc = vec4<f32>(0.0);
  for (var c = 0u; c < p.cin; c++) {
    var x = X[at];
    if (RELU_IN) { x = max(x, vec4<f32>(0.0)); }
    acc = fma(vec4<f32>(W[c]), x, acc);
    at += p.quads;
  }
  if (HAS_BIAS) { acc += vec4<f32>(bias[0]); }
  if (RELU_OUT) { acc = max(acc, vec4<f32>(0.0)); }
  if (ADD_RES) { acc += res[i]; }
  if (ACCUMULATE) { acc += out[i]; }
  out[i] = acc;
}

// The weight gradient of the same conv: dw[c] = Σ_b Σ_p dy[b, 0, p]·x[b, c, p], as `splits` partial sums a
// channel (sum_rows adds them up). A dispatch takes one batch item and a few channels, reading both through
// texel views (core/gpu/texel_view.ts; a storage-buffer load is a loop over the lanes on a CPU adapter):
// xT holds x[b, c0 .., :], dyT holds dy[b, 0, :]. Invocation (s, c) sums texels s, s + splits, ... of the
// plane, one FMA a texel; batch items after the first add onto the partial sums.
@group(0) @binding(1) var xT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var dyT: texture_storage_2d<rgba32float, read>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

// Texel i of a view: (i mod 2^shift, i / 2^shift).
fn texel_at(i: u32) -> vec2<i32> {
  return vec2<i32>(i32(i & ((1u << p.shift) - 1u)), i32(i >> p.shift));
}

@compute @workgroup_size(64, 1, 1)
fn weight_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = gid.x;
  let c = gid.y;
  if (s >= p.splits) { return; }
  var acc = vec4<f32>(0.0);
  for (var t = s; t < p.quads; t += p.splits) {
    acc = fma(textureLoad(xT, texel_at(c * p.quads + t)), textureLoad(dyT, texel_at(t)), acc);
  }
  let i = s * p.cin + p.c0 + c;
  var v = (acc.x + acc.y) + (acc.z + acc.w);
  if (p.b > 0u) { v += partial[i]; }
  partial[i] = v;
}
