// Copies op(X) of one batch item into an rgba32float texture, as rows of texels: texel (c4, r) =
// op(X)[r, 4·c4 .. 4·c4+3]. This is the layout kernels/matmul_cpu.wgsl reads. X may have any offset and
// leading dimension and may be stored transposed ([cols, rows]). Texels past `rows` or `cols` (the texture
// may be larger) are zero, so padding K to a multiple of 4 adds nothing to the products.

override TRANS: bool = false; // X stored as [cols, rows]

struct Params {
  rows: u32, cols: u32,
  ld: u32, off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
// The same binding as vec4s, for main_vec4.
@group(0) @binding(1) var<storage, read> X4: array<vec4<f32>>;
@group(0) @binding(2) var P: texture_storage_2d<rgba32float, write>;

// One invocation a texel, the texture's texels numbered in one dimension so that every lane of a workgroup
// has one (a 2-D grid of narrow rows left most lanes idle: a workgroup costs lavapipe about as much whether
// its lanes work or not). Lanes side by side take consecutive addresses of X: consecutive texels of a row,
// or, when X is transposed, consecutive rows; strided lanes made the transposed copy three times slower.
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let size = textureDimensions(P);
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= size.x * size.y) { return; }
  var c4: u32;
  var r: u32;
  if (TRANS) { r = i % size.y; c4 = i / size.y; } else { c4 = i % size.x; r = i / size.x; }
  var v = vec4<f32>(0.0);
  if (r < p.rows) {
    for (var j = 0u; j < 4u; j++) {
      let c = c4 * 4u + j;
      if (c < p.cols) {
        if (TRANS) { v[j] = X[p.off + c * p.ld + r]; } else { v[j] = X[p.off + r * p.ld + c]; }
      }
    }
  }
  textureStore(P, vec2<u32>(c4, r), v);
}

// X stored straight with cols, ld and off multiples of 4: a texel is one vec4 of X, one load rather than
// four (each storage access a loop over the SIMD lanes on a CPU adapter).
@compute @workgroup_size(64, 1, 1)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let size = textureDimensions(P);
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= size.x * size.y) { return; }
  let c4 = i % size.x;
  let r = i / size.x;
  let inside = r < p.rows && c4 < p.cols / 4u;
  let at = select(0u, (p.off + r * p.ld) / 4u + c4, inside);
  textureStore(P, vec2<u32>(c4, r), select(vec4<f32>(0.0), X4[at], inside));
}
