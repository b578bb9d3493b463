// C = alpha · op(A) · op(B) (+ bias[n]) (+ C), batched, for the three products a linear layer needs:
// A·B, A·Bᵀ and Aᵀ·B. Matrices are addressed through leading dimensions, offsets and a two-level batch
// stride, so attention can multiply heads in place inside a qkv buffer without copying them out.
//
// Register tiling: each invocation owns a 4×4 block of C held in four named vec4 accumulators (registers, not
// an indexed array: shader compilers keep dynamically indexed private arrays in memory). A workgroup owns a
// (4·WG_Y)×(4·WG_X) tile and walks K in steps of TILE_K through workgroup memory.

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TILE_K: u32 = 16u;
override TRANS_A: bool = false; // A stored as [K, M]
override TRANS_B: bool = false; // B stored as [N, K]
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32,
  // batch index z = outer·inner + i: offset = outer·strideOuter + i·strideInner
  inner: u32,
  sAo: u32, sAi: u32, sBo: u32, sBi: u32, sCo: u32, sCi: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

// As[k·WG_Y + ty] holds rows 4ty..4ty+3 of the tile at depth k; Bs[k·WG_X + tx] columns 4tx..4tx+3.
var<workgroup> As: array<vec4<f32>, TILE_K * WG_Y>;
var<workgroup> Bs: array<vec4<f32>, TILE_K * WG_X>;

fn a_at(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (TRANS_A) { return A[base + k * p.lda + m]; }
  return A[base + m * p.lda + k];
}

fn b_at(base: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  if (TRANS_B) { return B[base + n * p.ldb + k]; }
  return B[base + k * p.ldb + n];
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let flat = ty * WG_X + tx;
  let threads = WG_X * WG_Y;
  let outer = wg.z / p.inner;
  let inner = wg.z % p.inner;
  let baseA = p.offA + outer * p.sAo + inner * p.sAi;
  let baseB = p.offB + outer * p.sBo + inner * p.sBi;
  let baseC = p.offC + outer * p.sCo + inner * p.sCi;
  let m0 = wg.y * WG_Y * 4u;
  let n0 = wg.x * WG_X * 4u;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    // Fill the A tile: slot s = (k, row group g). Consecutive invocations take consecutive addresses of the
    // stored layout (k for row-major A, rows for transposed A).
    for (var s = flat; s < TILE_K * WG_Y; s += threads) {
      var k: u32;
      var g: u32;
      if (TRANS_A) { g = s % WG_Y; k = s / WG_Y; } else { k = s % TILE_K; g = s / TILE_K; }
      let m = m0 + g * 4u;
      As[k * WG_Y + g] = vec4<f32>(
        a_at(baseA, m, k0 + k), a_at(baseA, m + 1u, k0 + k), a_at(baseA, m + 2u, k0 + k), a_at(baseA, m + 3u, k0 + k));
    }
    for (var s = flat; s < TILE_K * WG_X; s += threads) {
      var k: u32;
      var g: u32;
      if (TRANS_B) { k = s % TILE_K; g = s / TILE_K; } else { g = s % WG_X; k = s / WG_X; }
      let n = n0 + g * 4u;
      Bs[k * WG_X + g] = vec4<f32>(
        b_at(baseB, k0 + k, n), b_at(baseB, k0 + k, n + 1u), b_at(baseB, k0 + k, n + 2u), b_at(baseB, k0 + k, n + 3u));
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      let a = As[k * WG_Y + ty];
      let b = Bs[k * WG_X + tx];
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }

  let m = m0 + ty * 4u;
  let n = n0 + tx * 4u;
  store_row(baseC, m, n, acc0);
  store_row(baseC, m + 1u, n, acc1);
  store_row(baseC, m + 2u, n, acc2);
  store_row(baseC, m + 3u, n, acc3);
}

fn store_row(base: u32, m: u32, n: u32, acc: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let col = n + j;
    if (col < p.N) {
      var v = p.alpha * acc[j];
      if (HAS_BIAS) { v += bias[col]; }
      let at = base + m * p.ldc + col;
      if (ACCUMULATE) { v += C[at]; }
      C[at] = v;
    }
  }
}
