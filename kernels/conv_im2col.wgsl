// The patches of a convolution's input, written straight into an operand texture of the CPU matmul path
// (kernels/matmul_cpu.wgsl; core/nn/ops/conv_product.ts), col[(ci·KH + ky)·KW + kx, q] = x[b, ci, oy·s + ky − pad,
// ox·s + kx − pad] for output pixel q = q0 + r (oy, ox) of batch item b, 0 outside the image, in one of two
// orientations:
// - main (the weight gradient's B, pixels along k): row r is pixel q, texel c4 holds its patch elements
//   4·c4 .. 4·c4 + 3;
// - patches (the forward's B, pixels along n): row k is one patch element, texel t holds pixels 4t .. 4t + 3.
// Rows and texels past the run and past Cin·KH·KW are zero (K and N are padded to the texture), so every
// texel is written.

override RELU_IN: bool = false; // x is read through ReLU (a residual unit's pre-activation)
override TOKENS: bool = false; // x is ViT tokens [B, H·W, Cin], not [B, Cin, H, W]

struct Params {
  cin: u32, h: u32, w: u32,
  ow: u32,
  kh: u32, kw: u32, stride: u32, pad: u32,
  b: u32, q0: u32, count: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var col: texture_storage_2d<rgba32float, write>;

fn x_at(ci: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
  var v: f32;
  if (TOKENS) {
    v = x[(p.b * p.h * p.w + u32(iy) * p.w + u32(ix)) * p.cin + ci];
  } else {
    v = x[((p.b * p.cin + ci) * p.h + u32(iy)) * p.w + u32(ix)];
  }
  if (RELU_IN) { v = max(v, 0.0); }
  return v;
}

// One invocation a texture row (a pixel): lanes side by side read neighbouring pixels, and the patch is
// walked with counters, not divided out per element (an integer division per element made the copy cost
// more than the product on lavapipe).
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let size = textureDimensions(col);
  let r = gid.x;
  if (r >= size.y) { return; }
  let n = p.cin * p.kh * p.kw;
  if (r >= p.count) {
    for (var c4 = 0u; c4 < size.x; c4++) { textureStore(col, vec2<u32>(c4, r), vec4<f32>(0.0)); }
    return;
  }
  let q = p.q0 + r;
  let y0 = i32((q / p.ow) * p.stride) - i32(p.pad);
  let x0 = i32((q % p.ow) * p.stride) - i32(p.pad);
  var ci = 0u;
  var ky = 0u;
  var kx = 0u;
  var e = 0u;
  for (var c4 = 0u; c4 < size.x; c4++) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      if (e < n) {
        v[j] = x_at(ci, y0 + i32(ky), x0 + i32(kx));
        e++;
        kx++;
        if (kx == p.kw) {
          kx = 0u;
          ky++;
          if (ky == p.kh) { ky = 0u; ci++; }
        }
      }
    }
    textureStore(col, vec2<u32>(c4, r), v);
  }
}

// One invocation a texel, lanes along the pixels (neighbouring reads of x); the patch element is the same
// for a whole workgroup, so its division into (ci, ky, kx) is not per lane's work in effect.
@compute @workgroup_size(64, 1, 1)
fn patches(@builtin(global_invocation_id) gid: vec3<u32>) {
  let size = textureDimensions(col);
  let t = gid.x;
  let k = gid.y;
  if (t >= size.x) { return; }
  var v = vec4<f32>(0.0);
  let taps = p.kh * p.kw;
  if (k < p.cin * taps && 4u * t < p.count) {
    let ci = k / taps;
    let ky = (k % taps) / p.kw;
    let kx = k % p.kw;
    let q = p.q0 + 4u * t;
    var oy = q / p.ow;
    var ox = q % p.ow;
    for (var j = 0u; j < 4u; j++) {
      if (4u * t + j < p.count) {
        v[j] = x_at(ci, i32(oy * p.stride + ky) - i32(p.pad), i32(ox * p.stride + kx) - i32(p.pad));
      }
      ox++;
      if (ox == p.ow) { ox = 0u; oy++; }
    }
  }
  textureStore(col, vec2<u32>(t, k), v);
}
