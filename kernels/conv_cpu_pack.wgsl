// The operands of conv_cpu.wgsl, packed so that its loads need no bounds checks.
//
// Both write rgba32float textures, which conv_cpu.wgsl reads as read-only storage textures.
// pack_input: x [B, Cin, H, W] (or ViT tokens [B, H·W, Cin]) → X: B·Cin planes of H + 2·pad rows of rowVec4
// texels, zero outside the image, shifted by the padding; read through ReLU when RELU_IN (a residual unit's
// pre-activation). Plane q = b·Cin + ci sits at texel (rowVec4·⌊q / ppc⌋, hp·(q mod ppc)): `ppc` planes one
// above the other, then the next column of planes, so a tall stack stays under the texture side limit.
// pack_weights: w [Cout, Cin, KH, KW] → W: Cin·KH·KW rows of coutVec4 texels, zero past Cout. With FLIP, w is the
// weight of the conv whose input gradient is being computed, [Cin, Cout, KH, KW] in this conv's terms, and
// is transposed and flipped in both axes: W[(ci·KH + ky)·KW + kx][co] = w[ci, co, KH−1−ky, KW−1−kx]. With
// TAP_MAJOR, the rows go tap by tap instead, each with the channels padded to whole texels — row
// (ky·KW + kx)·4⌈Cin/4⌉ + ci, zero for ci ≥ Cin: the A operand, read along m, of a product over the input's
// padded rows (kernels/matmul_cpu.wgsl's CONV_ROWS).

// Options as bits of the uniform: these small kernels then need one pipeline each, whatever the conv.
const TOKENS = 1u;
const RELU_IN = 2u;
const FLIP = 4u;
const TAP_MAJOR = 8u;

struct Params {
  batch: u32, cin: u32, h: u32, w: u32,
  cout: u32, kh: u32, kw: u32, pad: u32,
  hp: u32, rowVec4: u32, coutVec4: u32,
  ppc: u32, // planes per column of the input texture
  flags: u32,
}

fn has(flag: u32) -> bool { return (p.flags & flag) != 0u; }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;

// Branch-free: outside the image the load reads the plane's first value and the select drops it (a
// branch per value measured 1.4× the CPU time of this kernel on lavapipe, 32 planes of 518²).
fn x_at(b: u32, ci: u32, iy: i32, ix: i32) -> f32 {
  let inside = iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w);
  let y = u32(select(0, iy, inside));
  let x = u32(select(0, ix, inside));
  var at = ((b * p.cin + ci) * p.h + y) * p.w + x;
  if (has(TOKENS)) { at = (b * p.h * p.w + y * p.w + x) * p.cin + ci; }
  var v = select(0.0, src[at], inside);
  if (has(RELU_IN)) { v = max(v, 0.0); }
  return v;
}

// gid.x: vec4 of the packed plane (row-major: packed row · rowVec4 + vec4 within it, so that every lane of a
// workgroup has one even where rows are narrow); gid.z: b·Cin + ci.
@compute @workgroup_size(64, 1, 1)
fn pack_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.rowVec4 * p.hp || gid.z >= p.batch * p.cin) { return; }
  let row = gid.x / p.rowVec4;
  let col = gid.x % p.rowVec4;
  let b = gid.z / p.cin;
  let ci = gid.z % p.cin;
  let iy = i32(row) - i32(p.pad);
  let ix = i32(col * 4u) - i32(p.pad);
  let v = vec4<f32>(x_at(b, ci, iy, ix), x_at(b, ci, iy, ix + 1), x_at(b, ci, iy, ix + 2), x_at(b, ci, iy, ix + 3));
  textureStore(dst, vec2<u32>(p.rowVec4 * (gid.z / p.ppc) + col, p.hp * (gid.z % p.ppc) + row), v);
}

// gid.x: vec4 of output channels; gid.y: row (ci·KH + ky)·KW + kx, or with TAP_MAJOR (ky·KW + kx)·cin4 + ci.
@compute @workgroup_size(64, 1, 1)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kk = p.kh * p.kw;
  let cin4 = 4u * ((p.cin + 3u) / 4u);
  let rows = select(p.cin * kk, kk * cin4, has(TAP_MAJOR));
  if (gid.x >= p.coutVec4 || gid.y >= rows) { return; }
  var ci = gid.y / kk;
  var tap = gid.y % kk;
  if (has(TAP_MAJOR)) {
    ci = gid.y % cin4;
    tap = gid.y / cin4;
  }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let co = gid.x * 4u + j;
    if (co < p.cout && ci < p.cin) {
      if (has(FLIP)) {
        v[j] = src[(ci * p.cout + co) * kk + (kk - 1u - tap)];
      } else {
        v[j] = src[(co * p.cin + ci) * kk + tap];
      }
    }
  }
  textureStore(dst, vec2<u32>(gid.x, gid.y), v);
}
