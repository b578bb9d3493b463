// The operands of a stride-1 convolution's weight gradient as one product on the CPU matmul path
// (kernels/matmul_cpu.wgsl with TAP_ROWS; core/nn/ops/conv_weight_grad_rows.ts), with no patch matrix: the
// pixels are numbered on the padded grid, position P = py·pitch + px of the input padded by `pad` on every
// side (pitch = w + 2·pad), and output pixel (oy, ox) at oy·pitch + ox, so the input under tap (ky, kx) of
// output position q is padded position q + ky·pitch + kx. A run of `count` output positions from q0:
// - input_rows (B): texel (c4, r) = x[b, 4c4 .. 4c4+3, py − pad, px − pad] for P = q0 + r, 0 in the padding,
//   past the image and past cin; every texel of the texture is written;
// - grad_rows (A): texel (kq, m) = dy[b, m, oy, ox] for q = q0 + 4kq + j (j = 0..3), 0 where ox ≥ ow (the
//   positions between the output's rows) and past the run.
// input_rows_texels (CPU adapters) writes input_rows' texels from a view of the run's image rows rather than
// from the buffer: on lavapipe a storage-buffer load is a loop over the SIMD lanes, an image load straight-line
// code (core/nn/ops/conv_input_rows.ts has the figures and the view's layout).

override RELU_IN: bool = false; // x is read through ReLU (a residual unit's pre-activation)
override TOKENS: bool = false; // x is ViT tokens [B, H·W, Cin], not [B, Cin, H, W]

struct Params {
  cin: u32, h: u32, w: u32,
  pad: u32, pitch: u32,
  oh: u32, ow: u32, cout: u32,
  b: u32, q0: u32, count: u32,
  // input_rows_texels: the view's rows of 2^shift texels; x's index of its first value (channel 0, image row
  // y0 of the run); the texels of each channel's block, or 0 where the view is one span of every channel
  shift: u32, viewFirst: u32, channelTexels: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var tex: texture_storage_2d<rgba32float, write>;
// input_rows_texels: the run's image rows of batch item b, flat (value f at component f mod 4 of texel
// (t mod 2^shift, t / 2^shift), t = f / 4): one span of every channel from the texel holding x[viewFirst], or
// each channel's span from the texel holding its first value, in its own block of channelTexels texels
@group(0) @binding(1) var view: texture_storage_2d<rgba32float, read>;

fn x_at(ci: u32, iy: u32, ix: u32) -> f32 {
  if (ci >= p.cin) { return 0.0; }
  var v: f32;
  if (TOKENS) {
    v = src[(p.b * p.h * p.w + iy * p.w + ix) * p.cin + ci];
  } else {
    v = src[((p.b * p.cin + ci) * p.h + iy) * p.w + ix];
  }
  if (RELU_IN) { v = max(v, 0.0); }
  return v;
}

fn view_at(ci: u32, iy: u32, ix: u32) -> f32 {
  if (ci >= p.cin) { return 0.0; }
  let at = ((p.b * p.cin + ci) * p.h + iy) * p.w + ix;
  var f = at - (p.viewFirst & ~3u);
  if (p.channelTexels != 0u) {
    let first = p.viewFirst + ci * p.h * p.w;
    f = at - (first & ~3u) + 4u * ci * p.channelTexels;
  }
  let t = f >> 2u;
  var v = textureLoad(view, vec2<u32>(t & ((1u << p.shift) - 1u), t >> p.shift))[f & 3u];
  if (RELU_IN) { v = max(v, 0.0); }
  return v;
}

// The image pixel under padded position q0 + r, and whether it lies inside the image.
struct Pixel { inside: bool, y: u32, x: u32 }

fn pixel(r: u32) -> Pixel {
  let at = p.q0 + r;
  let iy = i32(at / p.pitch) - i32(p.pad);
  let ix = i32(at % p.pitch) - i32(p.pad);
  let inside = iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w);
  return Pixel(inside, u32(max(iy, 0)), u32(max(ix, 0)));
}

// One invocation a row (a padded pixel) — its position divided out once for all its texels — lanes along
// the rows (neighbouring pixels of one channel plane).
@compute @workgroup_size(64, 1, 1)
fn input_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let size = textureDimensions(tex);
  let r = gid.x;
  if (r >= size.y) { return; }
  let px = pixel(r);
  for (var c4 = 0u; c4 < size.x; c4++) {
    var v = vec4<f32>(0.0);
    if (px.inside) {
      let c = 4u * c4;
      v = vec4<f32>(x_at(c, px.y, px.x), x_at(c + 1u, px.y, px.x), x_at(c + 2u, px.y, px.x), x_at(c + 3u, px.y, px.x));
    }
    textureStore(tex, vec2<u32>(c4, r), v);
  }
}

// input_rows through the view (x as [B, Cin, H, W]): an entry point of its own, not a flag on input_rows,
// because one entry point may not use two variables bound at one binding (src and view).
@compute @workgroup_size(64, 1, 1)
fn input_rows_texels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let size = textureDimensions(tex);
  let r = gid.x;
  if (r >= size.y) { return; }
  let px = pixel(r);
  for (var c4 = 0u; c4 < size.x; c4++) {
    var v = vec4<f32>(0.0);
    if (px.inside) {
      let c = 4u * c4;
      v = vec4<f32>(
        view_at(c, px.y, px.x),
        view_at(c + 1u, px.y, px.x),
        view_at(c + 2u, px.y, px.x),
        view_at(c + 3u, px.y, px.x),
      );
    }
    textureStore(tex, vec2<u32>(c4, r), v);
  }
}

// One invocation a texel, lanes along k (neighbouring pixels of one output channel); the position is
// divided out once a texel and stepped across its four values.
@compute @workgroup_size(64, 1, 1)
fn grad_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let size = textureDimensions(tex);
  let kq = gid.x;
  let m = gid.y;
  if (kq >= size.x || m >= size.y) { return; }
  var v = vec4<f32>(0.0);
  if (m < p.cout) {
    let at = p.q0 + 4u * kq;
    var oy = at / p.pitch;
    var ox = at % p.pitch;
    let plane = (p.b * p.cout + m) * p.oh;
    for (var j = 0u; j < 4u; j++) {
      if (4u * kq + j < p.count && ox < p.ow && oy < p.oh) { v[j] = src[(plane + oy) * p.ow + ox]; }
      ox++;
      if (ox == p.pitch) { ox = 0u; oy++; }
    }
  }
  textureStore(tex, vec2<u32>(kq, m), v);
}
