// Bilinear resize with align_corners=True (F.interpolate(..., mode="bilinear", align_corners=True)) over
// `planes` C×H×W planes (batch folded into planes), and its adjoint for the backward.
//
// The source coordinate i·(in − 1)/(out − 1) is split exactly in integers: i0 = ⌊i·(in − 1)/(out − 1)⌋ and
// λ = (i·(in − 1) mod (out − 1))/(out − 1), one rounding. (PyTorch's f32 path rounds the scale first, which
// costs ~2e-6 rel_l2 against float64 at 37 → 518; this lands on the float64 coordinates.)
// The adjoint is a gather, not a scatter (WGSL has no float atomics): each input pixel visits the output
// rows/columns whose taps may reach it and recomputes those taps exactly as the forward does, so forward and
// adjoint stay transposes of each other in f32.

override WG: u32 = 256u;
override ACCUMULATE: bool = false;

struct Params {
  planes: u32,
  in_h: u32, in_w: u32,
  out_h: u32, out_w: u32,
  chunk: u32, // planes per invocation (the forward)
  // bilinear_texels: the dispatch's first plane, and its planes' texel view's rows of 2^shift texels
  first: u32, shift: u32,
  // bilinear_rows: the conv's padding and padded row length, and the run's first padded position
  pad: u32, pitch: u32, q0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// bilinear_texels (CPU adapters) reads src through a texel view of the dispatch's planes
// (core/gpu/texel_view.ts: on lavapipe an image load is SIMD code where a storage-buffer load is a loop over
// the lanes): element e of those planes is component e mod 4 of texel e / 4.
@group(0) @binding(1) var srcT: texture_storage_2d<rgba32float, read>;

fn src_at(e: u32) -> f32 {
  let t = e >> 2u;
  return textureLoad(srcT, vec2<i32>(i32(t & ((1u << p.shift) - 1u)), i32(t >> p.shift)))[e & 3u];
}

struct Taps { i0: u32, i1: u32, l1: f32 }

fn taps(i: u32, in_size: u32, out_size: u32) -> Taps {
  if (out_size <= 1u) { return Taps(0u, min(1u, in_size - 1u), 0.0); }
  let num = i * (in_size - 1u);
  let i0 = num / (out_size - 1u);
  let l1 = f32(num % (out_size - 1u)) / f32(out_size - 1u);
  return Taps(i0, min(i0 + 1u, in_size - 1u), l1);
}

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.y * nwg.x * WG + gid.x;
}

// One invocation per output pixel and chunk of `chunk` planes (gid.z): the taps (integer divisions, which
// a CPU adapter runs lane by lane) are worked out once for the chunk. A CPU adapter takes every plane in one
// chunk (lavapipe, alternated with the one-output-per-invocation kernel, median CPU time of 5: 32×296² → 518²
// 195 against 270 ms, 64×148² → 296² 125 against 177 ms); a GPU one plane each.
@compute @workgroup_size(WG)
fn bilinear(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  let outPlane = p.out_h * p.out_w;
  if (i >= outPlane) { return; }
  let ty = taps(i / p.out_w, p.in_h, p.out_h);
  let tx = taps(i % p.out_w, p.in_w, p.out_w);
  let inPlane = p.in_h * p.in_w;
  let first = gid.z * p.chunk;
  var r0 = first * inPlane + ty.i0 * p.in_w;
  var r1 = first * inPlane + ty.i1 * p.in_w;
  var o = first * outPlane + i;
  for (var c = first; c < min(first + p.chunk, p.planes); c++) {
    let top = (1.0 - tx.l1) * src[r0 + tx.i0] + tx.l1 * src[r0 + tx.i1];
    let bottom = (1.0 - tx.l1) * src[r1 + tx.i0] + tx.l1 * src[r1 + tx.i1];
    var v = (1.0 - ty.l1) * top + ty.l1 * bottom;
    if (ACCUMULATE) { v += dst[o]; }
    dst[o] = v;
    r0 += inPlane;
    r1 += inPlane;
    o += outPlane;
  }
}

// The weight with which output index i (along one axis) reads input index j.
fn weight(i: u32, j: u32, in_size: u32, out_size: u32) -> f32 {
  let t = taps(i, in_size, out_size);
  var w = 0.0;
  if (t.i0 == j) { w += 1.0 - t.l1; }
  if (t.i1 == j) { w += t.l1; }
  return w;
}

// Output indices whose taps can reach input index j: i·(in − 1)/(out − 1) ∈ (j − 1, j + 1), widened by one
// each side for the float division here (the taps themselves are exact).
fn reach(j: u32, in_size: u32, out_size: u32) -> vec2<u32> {
  if (in_size <= 1u || out_size <= 1u) { return vec2<u32>(0u, out_size); }
  let inv = f32(out_size - 1u) / f32(in_size - 1u);
  let lo = max(floor((f32(j) - 1.0) * inv) - 1.0, 0.0);
  let hi = min(ceil((f32(j) + 1.0) * inv) + 2.0, f32(out_size));
  return vec2<u32>(u32(lo), u32(hi));
}

// dst = adjoint(src): src is the C×out_h×out_w gradient, dst the C×in_h×in_w one.
@compute @workgroup_size(WG)
fn bilinear_adjoint(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.planes * p.in_h * p.in_w) { return; }
  let jx = i % p.in_w;
  let jy = (i / p.in_w) % p.in_h;
  let base = (i / (p.in_w * p.in_h)) * p.out_h * p.out_w;
  let ry = reach(jy, p.in_h, p.out_h);
  let rx = reach(jx, p.in_w, p.out_w);
  var v = 0.0;
  for (var y = ry.x; y < ry.y; y++) {
    let wy = weight(y, jy, p.in_h, p.out_h);
    if (wy == 0.0) { continue; }
    var row = 0.0;
    for (var x = rx.x; x < rx.y; x++) {
      let wx = weight(x, jx, p.in_w, p.out_w);
      if (wx != 0.0) { row += wx * src[base + y * p.out_w + x]; }
    }
    v += wy * row;
  }
  if (ACCUMULATE) { v += dst[i]; }
  dst[i] = v;
}

// The adjoint with the planes in a loop (a chunk per gid.z, as the forward): each input pixel finds its
// taps' nonzero weights once — at most MAX_REACH a side, which an upsampling by up to 6× keeps under (the
// host checks) — and then every plane sums the same terms in the same order as bilinear_adjoint.
const MAX_REACH: u32 = 8u;

// The output indices along one axis whose taps read input index j, with their weights, in order.
struct Reach { at: array<u32, MAX_REACH>, w: array<f32, MAX_REACH>, n: u32 }

fn nonzero_taps(j: u32, in_size: u32, out_size: u32) -> Reach {
  let r = reach(j, in_size, out_size);
  var t: Reach;
  for (var i = r.x; i < r.y && t.n < MAX_REACH; i++) {
    let w = weight(i, j, in_size, out_size);
    if (w != 0.0) {
      t.at[t.n] = i;
      t.w[t.n] = w;
      t.n++;
    }
  }
  return t;
}

@compute @workgroup_size(WG)
fn bilinear_adjoint_planes(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  let inPlane = p.in_h * p.in_w;
  if (i >= inPlane) { return; }
  let jx = i % p.in_w;
  let jy = i / p.in_w;
  let ty = nonzero_taps(jy, p.in_h, p.out_h);
  let tx = nonzero_taps(jx, p.in_w, p.out_w);
  let outPlane = p.out_h * p.out_w;
  let first = gid.z * p.chunk;
  for (var c = first; c < min(first + p.chunk, p.planes); c++) {
    let base = c * outPlane;
    var v = 0.0;
    for (var a = 0u; a < ty.n; a++) {
      var row = 0.0;
      for (var b = 0u; b < tx.n; b++) { row += tx.w[b] * src[base + ty.at[a] * p.out_w + tx.at[b]]; }
      v += ty.w[a] * row;
    }
    let o = c * inPlane + i;
    if (ACCUMULATE) { v += dst[o]; }
    dst[o] = v;
  }
}

// bilinear over planes first .. first + chunk − 1, src read from their texel view: the same sums as
// bilinear's, so the same bits.
@compute @workgroup_size(WG)
fn bilinear_texels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  let outPlane = p.out_h * p.out_w;
  if (i >= outPlane) { return; }
  let ty = taps(i / p.out_w, p.in_h, p.out_h);
  let tx = taps(i % p.out_w, p.in_w, p.out_w);
  let inPlane = p.in_h * p.in_w;
  var r0 = ty.i0 * p.in_w;
  var r1 = ty.i1 * p.in_w;
  var o = p.first * outPlane + i;
  for (var c = 0u; c < p.chunk; c++) {
    let top = (1.0 - tx.l1) * src_at(r0 + tx.i0) + tx.l1 * src_at(r0 + tx.i1);
    let bottom = (1.0 - tx.l1) * src_at(r1 + tx.i0) + tx.l1 * src_at(r1 + tx.i1);
    dst[o] = (1.0 - ty.l1) * top + ty.l1 * bottom;
    r0 += inPlane;
    r1 += inPlane;
    o += outPlane;
  }
}

// The planes adjoint in two passes for CPU adapters, reading texel views: the columns' sums of every output
// row (adjoint_rows), then the rows' sums of those (adjoint_cols) — bilinear_adjoint_planes' `row` and `v`,
// the same terms in the same order, so the same bits. Each index's nonzero taps, found once for the whole
// resize by adjoint_taps, are read from `tapsT`: row j < in_h the taps of input row j, row in_h + j those
// of input column j; texels 0–1 the output indices (as floats, exact), 2–3 the weights, 4 the count.
@group(0) @binding(1) var tapsOut: texture_storage_2d<rgba32float, write>;
@group(0) @binding(3) var tapsT: texture_storage_2d<rgba32float, read>;

@compute @workgroup_size(WG)
fn adjoint_taps(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat(gid, nwg);
  if (j >= p.in_h + p.in_w) { return; }
  var t: Reach;
  if (j < p.in_h) { t = nonzero_taps(j, p.in_h, p.out_h); } else { t = nonzero_taps(j - p.in_h, p.in_w, p.out_w); }
  let row = i32(j);
  textureStore(tapsOut, vec2<i32>(0, row), vec4<f32>(f32(t.at[0]), f32(t.at[1]), f32(t.at[2]), f32(t.at[3])));
  textureStore(tapsOut, vec2<i32>(1, row), vec4<f32>(f32(t.at[4]), f32(t.at[5]), f32(t.at[6]), f32(t.at[7])));
  textureStore(tapsOut, vec2<i32>(2, row), vec4<f32>(t.w[0], t.w[1], t.w[2], t.w[3]));
  textureStore(tapsOut, vec2<i32>(3, row), vec4<f32>(t.w[4], t.w[5], t.w[6], t.w[7]));
  textureStore(tapsOut, vec2<i32>(4, row), vec4<f32>(f32(t.n), 0.0, 0.0, 0.0));
}

struct TapRow { at0: vec4<u32>, at1: vec4<u32>, w0: vec4<f32>, w1: vec4<f32>, n: u32 }

fn tap_row(row: u32) -> TapRow {
  let r = i32(row);
  return TapRow(
    vec4<u32>(textureLoad(tapsT, vec2<i32>(0, r))),
    vec4<u32>(textureLoad(tapsT, vec2<i32>(1, r))),
    textureLoad(tapsT, vec2<i32>(2, r)),
    textureLoad(tapsT, vec2<i32>(3, r)),
    u32(textureLoad(tapsT, vec2<i32>(4, r)).x),
  );
}

fn tap_at(t: TapRow, b: u32) -> u32 { return select(t.at1[b & 3u], t.at0[b & 3u], b < 4u); }
fn tap_w(t: TapRow, b: u32) -> f32 { return select(t.w1[b & 3u], t.w0[b & 3u], b < 4u); }

// One invocation an (output row y, input column jx) of the view's `chunk` planes of dy (its texel view,
// srcT): dst (a C×out_h×in_w scratch for this chunk) = Σ over jx's taps, in order, of w·dy[c, y, at].
@compute @workgroup_size(WG)
fn adjoint_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  let rowsPlane = p.out_h * p.in_w;
  if (i >= rowsPlane) { return; }
  let jx = i % p.in_w;
  let y = i / p.in_w;
  let tx = tap_row(p.in_h + jx);
  let outPlane = p.out_h * p.out_w;
  for (var c = 0u; c < p.chunk; c++) {
    let base = c * outPlane + y * p.out_w;
    var row = 0.0;
    for (var b = 0u; b < tx.n; b++) { row += tap_w(tx, b) * src_at(base + tap_at(tx, b)); }
    dst[c * rowsPlane + i] = row;
  }
}

// One invocation an input pixel (jy, jx) of the chunk's planes first .. first + chunk − 1, reading
// adjoint_rows' scratch through its texel view (srcT): dx = Σ over jy's taps, in order, of w·rows[c, at, jx].
@compute @workgroup_size(WG)
fn adjoint_cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  let inPlane = p.in_h * p.in_w;
  if (i >= inPlane) { return; }
  let jx = i % p.in_w;
  let ty = tap_row(i / p.in_w);
  let rowsPlane = p.out_h * p.in_w;
  for (var c = 0u; c < p.chunk; c++) {
    var v = 0.0;
    for (var a = 0u; a < ty.n; a++) { v += tap_w(ty, a) * src_at(c * rowsPlane + tap_at(ty, a) * p.in_w + jx); }
    let o = (p.first + c) * inPlane + i;
    if (ACCUMULATE) { v += dst[o]; }
    dst[o] = v;
  }
}

// The forward of one batch item's `chunk` planes (its channels, read from their texel view) written as the
// input rows of a stride-1 conv over the resized image (kernels/conv_rows.wgsl's input_rows layout: texel
// (c4, r) = channels 4c4 .. 4c4+3 of padded position q0 + r, zero in the padding and past the channels), so
// the resized image is never stored. One invocation a row, its taps worked out once; bilinear_texels' sums,
// so the conv reads the same bits as from the resized tensor.
@group(0) @binding(2) var rowsOut: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(WG)
fn bilinear_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let size = textureDimensions(rowsOut);
  let r = flat(gid, nwg);
  if (r >= size.y) { return; }
  let at = p.q0 + r;
  let iy = i32(at / p.pitch) - i32(p.pad);
  let ix = i32(at % p.pitch) - i32(p.pad);
  let inside = iy >= 0 && ix >= 0 && iy < i32(p.out_h) && ix < i32(p.out_w);
  let ty = taps(u32(max(iy, 0)), p.in_h, p.out_h);
  let tx = taps(u32(max(ix, 0)), p.in_w, p.out_w);
  let inPlane = p.in_h * p.in_w;
  for (var c4 = 0u; c4 < size.x; c4++) {
    var v = vec4<f32>(0.0);
    if (inside) {
      for (var j = 0u; j < 4u; j++) {
        let c = 4u * c4 + j;
        if (c < p.chunk) {
          let r0 = c * inPlane + ty.i0 * p.in_w;
          let r1 = c * inPlane + ty.i1 * p.in_w;
          let top = (1.0 - tx.l1) * src_at(r0 + tx.i0) + tx.l1 * src_at(r0 + tx.i1);
          let bottom = (1.0 - tx.l1) * src_at(r1 + tx.i0) + tx.l1 * src_at(r1 + tx.i1);
          v[j] = (1.0 - ty.l1) * top + ty.l1 * bottom;
        }
      }
    }
    textureStore(rowsOut, vec2<u32>(c4, r), v);
  }
}
