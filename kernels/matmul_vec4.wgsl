// C = alpha · op(A) · op(B) (+ bias[n]) (+ C) for shapes whose K and N are multiples of 4 (and M as well when A
// is transposed), with every operand read as vec4. No workgroup memory and no barriers: on CPU adapters
// (lavapipe, llvmpipe) workgroup memory is the same cache as everything else and barriers split the shader
// into coroutines, so reading operands directly is faster there. Each invocation owns a 4×4 block of C in
// four named vec4 accumulators.

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override TRANS_A: bool = false; // A stored as [K, M]
override TRANS_B: bool = false; // B stored as [N, K]
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

// Same layout as matmul.wgsl's Params, but leading dimensions, offsets and strides are counted in vec4s.
struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32,
  inner: u32,
  sAo: u32, sAi: u32, sBo: u32, sBi: u32, sCo: u32, sCi: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> C: array<vec4<f32>>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x; // column group: columns 4·n4 .. 4·n4+3
  let m = gid.y * 4u;
  if (n4 * 4u >= p.N || m >= p.M) { return; }
  let outer = gid.z / p.inner;
  let inner = gid.z % p.inner;
  let baseA = p.offA + outer * p.sAo + inner * p.sAi;
  let baseB = p.offB + outer * p.sBo + inner * p.sBi;
  let baseC = p.offC + outer * p.sCo + inner * p.sCi;
  // Rows past M repeat the last row (their results are never stored), so loads need no bounds checks.
  let r0 = m;
  let r1 = min(m + 1u, p.M - 1u);
  let r2 = min(m + 2u, p.M - 1u);
  let r3 = min(m + 3u, p.M - 1u);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let k4 = p.K / 4u;

  if (TRANS_A) {
    // A is [K, M]: one vec4 holds rows m..m+3 at depth k (M is a multiple of 4 on this path).
    for (var k = 0u; k < p.K; k++) {
      let a = A[baseA + k * p.lda + m / 4u];
      var b: vec4<f32>;
      if (TRANS_B) {
        let kq = k / 4u;
        let kr = k % 4u;
        b = vec4<f32>(B[baseB + (n4 * 4u) * p.ldb + kq][kr], B[baseB + (n4 * 4u + 1u) * p.ldb + kq][kr],
          B[baseB + (n4 * 4u + 2u) * p.ldb + kq][kr], B[baseB + (n4 * 4u + 3u) * p.ldb + kq][kr]);
      } else {
        b = B[baseB + k * p.ldb + n4];
      }
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
  } else if (TRANS_B) {
    // A·Bᵀ: both operands run along k, so each output is a dot product of vec4s.
    for (var kq = 0u; kq < k4; kq++) {
      let a0 = A[baseA + r0 * p.lda + kq];
      let a1 = A[baseA + r1 * p.lda + kq];
      let a2 = A[baseA + r2 * p.lda + kq];
      let a3 = A[baseA + r3 * p.lda + kq];
      let b0 = B[baseB + (n4 * 4u) * p.ldb + kq];
      let b1 = B[baseB + (n4 * 4u + 1u) * p.ldb + kq];
      let b2 = B[baseB + (n4 * 4u + 2u) * p.ldb + kq];
      let b3 = B[baseB + (n4 * 4u + 3u) * p.ldb + kq];
      acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
      acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
      acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
      acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
    }
  } else {
    for (var kq = 0u; kq < k4; kq++) {
      let a0 = A[baseA + r0 * p.lda + kq];
      let a1 = A[baseA + r1 * p.lda + kq];
      let a2 = A[baseA + r2 * p.lda + kq];
      let a3 = A[baseA + r3 * p.lda + kq];
      let k = kq * 4u;
      let b0 = B[baseB + k * p.ldb + n4];
      let b1 = B[baseB + (k + 1u) * p.ldb + n4];
      let b2 = B[baseB + (k + 2u) * p.ldb + n4];
      let b3 = B[baseB + (k + 3u) * p.ldb + n4];
      acc0 = fma(vec4<f32>(a0.x), b0, fma(vec4<f32>(a0.y), b1, fma(vec4<f32>(a0.z), b2, fma(vec4<f32>(a0.w), b3, acc0))));
      acc1 = fma(vec4<f32>(a1.x), b0, fma(vec4<f32>(a1.y), b1, fma(vec4<f32>(a1.z), b2, fma(vec4<f32>(a1.w), b3, acc1))));
      acc2 = fma(vec4<f32>(a2.x), b0, fma(vec4<f32>(a2.y), b1, fma(vec4<f32>(a2.z), b2, fma(vec4<f32>(a2.w), b3, acc2))));
      acc3 = fma(vec4<f32>(a3.x), b0, fma(vec4<f32>(a3.y), b1, fma(vec4<f32>(a3.z), b2, fma(vec4<f32>(a3.w), b3, acc3))));
    }
  }

  store(baseC, m, n4, acc0);
  if (m + 1u < p.M) { store(baseC, m + 1u, n4, acc1); }
  if (m + 2u < p.M) { store(baseC, m + 2u, n4, acc2); }
  if (m + 3u < p.M) { store(baseC, m + 3u, n4, acc3); }
}

fn store(base: u32, m: u32, n4: u32, acc: vec4<f32>) {
  var v = p.alpha * acc;
  if (HAS_BIAS) { v += bias[n4]; }
  let at = base + m * p.ldc + n4;
  if (ACCUMULATE) { v += C[at]; }
  C[at] = v;
}
