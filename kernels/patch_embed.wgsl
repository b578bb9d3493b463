// im2col for the patch embedding, a P×P stride-P convolution: image [B, 3, H, W] → cols [B, N, 3·P·P],
// N = (H/P)·(W/P) patches in row-major order, column c·P² + ky·P + kx, the layout of the flattened
// [C, 3, P, P] conv weight. The convolution is then one matmul (cols·Wᵀ); patches do not overlap, so this is
// a pure permutation and the weight gradient is colsᵀ·dy with no col2im.

override WG: u32 = 256u;

struct Params {
  batch: u32,
  channels: u32,
  height: u32,
  width: u32,
  size: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;

@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * WG + gid.x;
  let pp = p.size * p.size;
  let k = p.channels * pp;
  let pw = p.width / p.size;
  let n = (p.height / p.size) * pw;
  if (i >= p.batch * n * k) { return; }
  let col = i % k;
  let q = (i / k) % n;
  let b = i / (k * n);
  let c = col / pp;
  let y = (q / pw) * p.size + (col % pp) / p.size;
  let x = (q % pw) * p.size + col % p.size;
  cols[i] = image[((b * p.channels + c) * p.height + y) * p.width + x];
}
