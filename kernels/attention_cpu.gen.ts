/**
 * Writes kernels/attention_cpu.wgsl (the forward) and kernels/attention_cpu_backward.wgsl through `deno task
 * kernels`: attention fused into one kernel per pass for CPU adapters, flash-attention style. Like
 * kernels/matmul_cpu.gen.ts, the kernels need one named variable per register — WGSL cannot unroll over
 * names and arrays indexed in loops stay in memory — so their bodies are generated, not typed.
 *
 * Each invocation (a SIMD lane on lavapipe) owns ROWS rows — queries in the forward, keys in the backward's
 * `keys` entry — held in named vec4 registers for the whole pass, and walks the
 * other side in blocks of COLS. The walked rows are the same for every lane of a workgroup, so each texel
 * fetched from them feeds 4·ROWS FMAs per lane, and the softmax needs nothing from another lane: no
 * workgroup memory, no barrier. The head dimension is HEAD_D4 texels, an override constant (at most
 * MAX_D4), so the code of the texels past it is folded away when the pipeline is built.
 */

/** Texels of a head row at most: head dimension 64, DINOv2's at every size. */
export const MAX_D4 = 16;

/**
 * Queries per lane and keys per block of the forward. Measured on lavapipe (2 shared cores) at ViT-S's 518²
 * shape (1370 tokens, 6 heads of 64), the forward kernel's CPU time, min–median of 5: 16×4 184–202 ms,
 * 32×4 187–195, 8×8 215–232, 16×2 217–230, 8×4 220–308, 16×8 248–260, 4×8 321–336. More queries per lane
 * mean fewer texel fetches per FMA; past 16 that stopped paying.
 */
export const FORWARD = { rows: 16, cols: 4 };
/**
 * Rows per lane and walked rows per block of the backward's `keys` entry (walked rows a multiple of 4: dS
 * is stored a texel per 4 queries). Measured when a `queries` entry shared them, the CPU time of both at
 * the same shape: 8×4 860–910 ms, 4×4 854–1189, 8×2 958 (bench/results/2026-12-06-attention-fused-before-after.md).
 */
export const BACKWARD = { rows: 8, cols: 4 };

const range = (n: number) => [...Array(n).keys()];
const NEG_MAX = "-0x1.fffffep+127f"; // -f32 max; the decimal -3.4028235e38 lies past it, which Tint refuses

/** `body(d)` for every texel of a head row, those past d = 0 under a guard the compiler folds. */
function perTexel(indent: string, body: (d: number) => string[]): string[] {
  const out: string[] = [];
  for (let d = 0; d < MAX_D4; d++) {
    const lines = body(d);
    if (d === 0) out.push(...lines.map((l) => indent + l));
    else out.push(`${indent}if (HEAD_D4 > ${d}u) {`, ...lines.map((l) => `${indent}  ${l}`), `${indent}}`);
  }
  return out;
}

/** `acc + Σ x·y` over the four components of two vec4s, as a chain of FMAs (one SIMD FMA each on a CPU). */
function dot4(acc: string, x: string, y: string): string {
  return `fma(${x}.w, ${y}.w, fma(${x}.z, ${y}.z, fma(${x}.y, ${y}.y, fma(${x}.x, ${y}.x, ${acc}))))`;
}

/** `start + Σ_c scalar(c)·vec(c)`, accumulator-major: one chain per accumulator. */
function axpyChain(start: string, cols: number, scalar: (c: number) => string, vec: (c: number) => string) {
  let e = start;
  for (let c = 0; c < cols; c++) e = `fma(vec4<f32>(${scalar(c)}), ${vec(c)}, ${e})`;
  return e;
}

/**
 * The lanes of a subgroup, where a kernel variant shares the walked rows' texels through it: each lane
 * fetches its share of a block's texels and subgroupBroadcast hands them round (on lavapipe a texel fetch is
 * ~56 instructions for 8 lanes, a broadcast from a constant lane an extract and a splat). `undefined`: every
 * lane fetches every texel (the committed kernels). The same texels in the same FMAs: the same bits.
 */
export type SubgroupLanes = number | undefined;

/**
 * A block's walked texels (d, c) — texel d of walked row c, for d < HEAD_D4 and c < cols — as WGSL
 * expressions. Without subgroups each is its own fetch, `load(d, rowName{c})`. With them, where row c is
 * min(first + c, last), texel t = d·cols + c is
 * fetched by lane t mod lanes into \`${name}f{⌊t/lanes⌋}\` (\`fetches\`, to emit before the texels are used:
 * those wholly past HEAD_D4 are folded away) and broadcast from there.
 */
function walkedTexels(
  name: string,
  cols: number,
  lanes: SubgroupLanes,
  rowName: string,
  first: string,
  load: (d: string, row: string) => string,
): { fetches: (indent: string) => string[]; texel: (d: number, c: number) => string } {
  if (!lanes) return { fetches: () => [], texel: (d, c) => load(`${d}`, `${rowName}${c}`) };
  const count = Math.ceil((MAX_D4 * cols) / lanes);
  return {
    fetches: (indent) =>
      range(count).flatMap((s) => [
        `${indent}var ${name}f${s} = vec4<f32>(0.0);`,
        `${indent}if (HEAD_D4 > ${Math.floor((s * lanes) / cols)}u) {`,
        `${indent}  let t = ${s * lanes}u + lane;`,
        `${indent}  ${name}f${s} = ${load(`i32(t / ${cols}u)`, `i32(min(${first} + t % ${cols}u, last))`)};`,
        `${indent}}`,
      ]),
    texel: (d, c) => {
      const t = d * cols + c;
      return `subgroupBroadcast(${name}f${Math.floor(t / lanes)}, ${t % lanes}u)`;
    },
  };
}

/** The entry point's parameters, with the lane's index in its subgroup where texels are shared. */
function entryParameters(lanes: SubgroupLanes): string {
  const lane = lanes ? ", @builtin(subgroup_invocation_id) lane: u32" : "";
  return `@builtin(global_invocation_id) gid: vec3<u32>${lane}`;
}

/** The header's note on a variant for subgroups (generated at run time: core/gpu/subgroup_kernels.ts). */
function subgroupNote(lanes: SubgroupLanes): string {
  if (!lanes) return "";
  return `
//
// This variant (not committed; generated at run time for devices with subgroups of ${lanes} lanes): each lane
// fetches its share of the walked rows' texels and subgroupBroadcast hands them round.`;
}

const HEADER = `// GENERATED by kernels/attention_cpu.gen.ts — edit that file, then \`deno task kernels\`.
//`;

const COMMON = `override WG_X: u32 = 8u;
// Texels per head row: head dimension / 4, at most ${MAX_D4}.
override HEAD_D4: u32 = ${MAX_D4}u;`;

export function generateForward(lanes?: SubgroupLanes): string {
  const { rows: R, cols: K } = FORWARD;
  const keyTexels = walkedTexels(
    "k",
    K,
    lanes,
    "key",
    "j0",
    (d, row) => `textureLoad(QKV, vec2<i32>(kx + ${d}, ${row}))`,
  );
  const valueTexels = walkedTexels(
    "v",
    K,
    lanes,
    "key",
    "j0",
    (d, row) => `textureLoad(QKV, vec2<i32>(vx + ${d}, ${row}))`,
  );
  const out: string[] = [];
  const emit = (...lines: string[]) => out.push(...lines);
  emit(`${HEADER}
// Attention for CPU adapters (lavapipe/llvmpipe), one batch item: ctx = softmax(Q·Kᵀ/√D)·V per head, in one
// pass over the keys with an online softmax (scores, probabilities and the value product per block of ${K}
// keys; no T×T matrix is written). Each invocation owns ${R} queries of one head: Q (pre-scaled by
// log2(e)/√D, so exp2 takes the scores as they are), the running maximum and sum, and the ${R}×D output
// live in named registers; the keys and values are texel fetches shared by every lane. Also writes each
// query's log2-sum-exp (max + log2 Σ exp2) for the backward. Queries past T are clamped onto the last one
// and not stored; keys past T get a score of −f32 max, so their probability is 0.${subgroupNote(lanes)}

${COMMON}

struct Params {
  T: u32, // tokens
  C4: u32, // texels of Q, K or V in a token's row: channels / 4
  H: u32, // heads
  ctxOff4: u32, // this batch item's first vec4 of ctx
  statsOff: u32, // this batch item's first float of stats
  scale: f32, // log2(e)/√D
}

@group(0) @binding(0) var<uniform> p: Params;
// texel (x, t) = qkv[t, 4x .. 4x+3]: Q, K and V of every head side by side, as the qkv linear wrote them
@group(0) @binding(1) var QKV: texture_storage_2d<rgba32float, read>;
// [T, C] as vec4s: ctx[t, h·D + 4d .. +3] at t·C4 + h·HEAD_D4 + d
@group(0) @binding(2) var<storage, read_write> ctx: array<vec4<f32>>;
// [T, H, 4]: (log2-sum-exp, Δ = dO·O written by the backward, unused, unused)
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

const ROWS = ${R}u;
const COLS = ${K}u;

@compute @workgroup_size(WG_X, 1, 1)
fn forward(${entryParameters(lanes)}) {
  let h = gid.y;
  let i0 = gid.x * ROWS;
  let last = p.T - 1u;
  let qx = i32(h * HEAD_D4);
  let kx = i32(p.C4 + h * HEAD_D4);
  let vx = i32(2u * p.C4 + h * HEAD_D4);`);
  for (let r = 0; r < R; r++) emit(`  let row${r} = i32(min(i0 + ${r}u, last));`);
  for (let r = 0; r < R; r++) {
    emit(`  var ${range(MAX_D4).map((d) => `q${r}_${d} = vec4<f32>(0.0)`).join("; var ")};`);
    emit(`  var ${range(MAX_D4).map((d) => `o${r}_${d} = vec4<f32>(0.0)`).join("; var ")};`);
    emit(`  var m${r} = ${NEG_MAX};`, `  var l${r} = 0.0;`);
  }
  emit(
    ...perTexel(
      "  ",
      (d) => range(R).map((r) => `q${r}_${d} = p.scale * textureLoad(QKV, vec2<i32>(qx + ${d}, row${r}));`),
    ),
  );
  emit(`  for (var j0 = 0u; j0 < p.T; j0 += COLS) {`);
  for (let c = 0; c < K; c++) {
    emit(`    let key${c} = i32(min(j0 + ${c}u, last));`);
    emit(`    let past${c} = j0 + ${c}u >= p.T;`);
  }
  for (let r = 0; r < R; r++) emit(`    var ${range(K).map((c) => `s${r}_${c} = 0.0`).join("; var ")};`);
  emit(...keyTexels.fetches("    "));
  emit(...perTexel("    ", (d) => [
    ...range(K).map((c) => `let k${c} = ${keyTexels.texel(d, c)};`),
    ...range(R).flatMap((r) =>
      range(K).map((c) => `s${r}_${c} = ${dot4(`s${r}_${c}`, `q${r}_${d}`, `k${c}`)};`)
    ),
  ]));
  for (let r = 0; r < R; r++) {
    const scores = range(K).map((c) => `s${r}_${c}`);
    for (const s of scores) emit(`    ${s} = select(${s}, ${NEG_MAX}, past${scores.indexOf(s)});`);
    const blockMax = scores.slice(1).reduce((acc, s) => `max(${acc}, ${s})`, scores[0]);
    emit(`    let m${r}new = max(m${r}, ${blockMax});`);
    emit(`    let a${r} = exp2(m${r} - m${r}new);`);
    for (let c = 0; c < K; c++) emit(`    let p${r}_${c} = exp2(s${r}_${c} - m${r}new);`);
    emit(`    l${r} = fma(l${r}, a${r}, ${range(K).map((c) => `p${r}_${c}`).join(" + ")});`);
    emit(`    m${r} = m${r}new;`);
  }
  emit(...valueTexels.fetches("    "));
  emit(...perTexel("    ", (d) => [
    ...range(K).map((c) => `let v${c} = ${valueTexels.texel(d, c)};`),
    ...range(R).map((r) =>
      `o${r}_${d} = ${axpyChain(`o${r}_${d} * a${r}`, K, (c) => `p${r}_${c}`, (c) => `v${c}`)};`
    ),
  ]));
  emit(`  }`);
  for (let r = 0; r < R; r++) {
    emit(`  if (i0 + ${r}u < p.T) {`);
    emit(`    let inv = 1.0 / l${r};`);
    emit(`    let at = p.ctxOff4 + (i0 + ${r}u) * p.C4 + h * HEAD_D4;`);
    emit(...perTexel("    ", (d) => [`ctx[at + ${d}u] = o${r}_${d} * inv;`]));
    emit(`    stats[p.statsOff + ((i0 + ${r}u) * p.H + h) * 4u] = m${r} + log2(l${r});`);
    emit(`  }`);
  }
  emit(`}`, ``);
  return out.join("\n");
}

export function generateBackward(lanes?: SubgroupLanes): string {
  const { rows: R, cols: K } = BACKWARD;
  const queryTexels = walkedTexels(
    "q",
    K,
    lanes,
    "query",
    "i0",
    (d, r) => `textureLoad(QKV, vec2<i32>(qx + ${d}, ${r}))`,
  );
  const gradTexels = walkedTexels(
    "g",
    K,
    lanes,
    "query",
    "i0",
    (d, r) => `textureLoad(DCTX, vec2<i32>(hx + ${d}, ${r}))`,
  );
  const out: string[] = [];
  const emit = (...lines: string[]) => out.push(...lines);
  const zeros = (name: string, r: number) =>
    `  var ${range(MAX_D4).map((d) => `${name}${r}_${d} = vec4<f32>(0.0)`).join("; var ")};`;
  emit(`${HEADER}
// The backward of kernels/attention_cpu.wgsl, one batch item, recomputing P block by block from the
// forward's log2-sum-exp rows (flash-attention style). With the scores in log2 units, P = exp2(s − lse),
// dP = dO·Vᵀ, Δ = rowsum(dO ⊙ O), dS = P ⊙ (dP − Δ):
//   delta: each lane one query of one head: Δ, into stats.
//   keys:  each lane owns ${R} keys of head p.head and walks the queries ${K} at a time: dK = dSᵀ·Q/√D,
//          dV = Pᵀ·dO; and stores dS/√D as the B operand of the CPU product (kernels/matmul_cpu.wgsl), which
//          then takes dQ = (dS/√D)·K (core/nn/ops/attention_cpu.ts). dS is the only T×T matrix written, one
//          head's at a time; a fused pass for dQ would recompute P and dP, two of its three T×T×D products.
// The lane's own rows live in named registers and the walked rows are texel fetches shared by every lane
// (see the forward's header). \`keys\` reads Δ, so it runs after \`delta\`.${subgroupNote(lanes)}

${COMMON}

struct Params {
  T: u32, // tokens
  C4: u32, // texels of Q, K or V in a token's row: channels / 4
  H: u32, // heads
  gradOff4: u32, // this batch item's first vec4 of dqkv
  statsOff: u32, // this batch item's first float of stats
  scale: f32, // log2(e)/√D
  alpha: f32, // 1/√D
  head: u32, // keys: the head
}

@group(0) @binding(0) var<uniform> p: Params;
// texel (x, t) = dctx[t, 4x .. 4x+3]: dO
@group(0) @binding(1) var DCTX: texture_storage_2d<rgba32float, read>;
// delta: texel (x, t) = ctx[t, 4x .. 4x+3] (O); keys: texel (h, t) = stats[t, h, 0 .. 3]
@group(0) @binding(2) var AUX: texture_storage_2d<rgba32float, read>;
// [T, H, 4]: (log2-sum-exp from the forward, Δ written by \`delta\`, unused, unused)
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
// texel (x, t) = qkv[t, 4x .. 4x+3], as in the forward
@group(0) @binding(4) var QKV: texture_storage_2d<rgba32float, read>;
// [T, 3C] as vec4s, laid out as qkv
@group(0) @binding(5) var<storage, read_write> dqkv: array<vec4<f32>>;
// texel (i4, j) = dS[4·i4 .. 4·i4+3, j]/√D of head p.head; rows T .. 4⌈T/4⌉−1 zero (the product reads them)
@group(0) @binding(6) var DS: texture_storage_2d<rgba32float, write>;

const ROWS = ${R}u;
const COLS = ${K}u;

@compute @workgroup_size(WG_X, 1, 1)
fn delta(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  if (t >= p.T) {
    return;
  }
  let hx = i32(h * HEAD_D4);
  var delta = 0.0;`);
  emit(...perTexel("  ", (d) => [
    `let g${d} = textureLoad(DCTX, vec2<i32>(hx + ${d}, i32(t)));`,
    `let o${d} = textureLoad(AUX, vec2<i32>(hx + ${d}, i32(t)));`,
    `delta = ${dot4("delta", `g${d}`, `o${d}`)};`,
  ]));
  emit(`  stats[p.statsOff + (t * p.H + h) * 4u + 1u] = delta;`);
  emit(`}

@compute @workgroup_size(WG_X, 1, 1)
fn keys(${entryParameters(lanes)}) {
  let h = p.head;
  let j0 = gid.x * ROWS;
  let last = p.T - 1u;
  let paddedT = (p.T + 3u) / 4u * 4u;
  let hx = i32(h * HEAD_D4);
  let qx = hx;
  let kx = i32(p.C4 + h * HEAD_D4);
  let vx = i32(2u * p.C4 + h * HEAD_D4);`);
  for (let r = 0; r < R; r++) {
    emit(`  let row${r} = i32(min(j0 + ${r}u, last));`);
    emit(zeros("k", r), zeros("v", r), zeros("dk", r), zeros("dv", r));
  }
  emit(...perTexel("  ", (d) =>
    range(R).flatMap((r) => [
      `k${r}_${d} = p.scale * textureLoad(QKV, vec2<i32>(kx + ${d}, row${r}));`,
      `v${r}_${d} = textureLoad(QKV, vec2<i32>(vx + ${d}, row${r}));`,
    ])));
  emit(`  for (var i0 = 0u; i0 < p.T; i0 += COLS) {`);
  for (let c = 0; c < K; c++) {
    emit(`    let query${c} = i32(min(i0 + ${c}u, last));`);
    emit(`    let past${c} = i0 + ${c}u >= p.T;`);
    emit(`    let st${c} = textureLoad(AUX, vec2<i32>(i32(h), query${c})); // (lse, Δ, -, -)`);
    emit(
      `    var ${
        range(MAX_D4).map((d) => `q${c}_${d} = vec4<f32>(0.0); var g${c}_${d} = vec4<f32>(0.0)`).join(
          "; var ",
        )
      };`,
    );
  }
  for (let r = 0; r < R; r++) {
    emit(`    var ${range(K).map((c) => `s${r}_${c} = 0.0; var dp${r}_${c} = 0.0`).join("; var ")};`);
  }
  emit(...queryTexels.fetches("    "), ...gradTexels.fetches("    "));
  emit(...perTexel("    ", (d) => [
    ...range(K).flatMap((
      c,
    ) => [`q${c}_${d} = ${queryTexels.texel(d, c)};`, `g${c}_${d} = ${gradTexels.texel(d, c)};`]),
    ...range(R).flatMap((r) =>
      range(K).flatMap((c) => [
        `s${r}_${c} = ${dot4(`s${r}_${c}`, `k${r}_${d}`, `q${c}_${d}`)};`,
        `dp${r}_${c} = ${dot4(`dp${r}_${c}`, `v${r}_${d}`, `g${c}_${d}`)};`,
      ])
    ),
  ]));
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < K; c++) {
      emit(`    let p${r}_${c} = select(exp2(s${r}_${c} - st${c}.x), 0.0, past${c});`);
      emit(`    let ds${r}_${c} = p${r}_${c} * (dp${r}_${c} - st${c}.y);`);
    }
    // dS of this key at the walked queries, a texel per 4; zeros on the rows past T up to a whole texel.
    emit(`    if (j0 + ${r}u < paddedT) {`);
    for (let q = 0; q < K / 4; q++) {
      const texel = range(4).map((c) => `ds${r}_${4 * q + c}`).join(", ");
      emit(
        `      textureStore(DS, vec2<i32>(i32(i0 / 4u + ${q}u), i32(j0 + ${r}u)), ` +
          `select(p.alpha * vec4<f32>(${texel}), vec4<f32>(0.0), j0 + ${r}u >= p.T));`,
      );
    }
    emit(`    }`);
  }
  emit(...perTexel("    ", (d) =>
    range(R).flatMap((r) => [
      `dv${r}_${d} = ${axpyChain(`dv${r}_${d}`, K, (c) => `p${r}_${c}`, (c) => `g${c}_${d}`)};`,
      `dk${r}_${d} = ${axpyChain(`dk${r}_${d}`, K, (c) => `ds${r}_${c}`, (c) => `q${c}_${d}`)};`,
    ])));
  emit(`  }`);
  for (let r = 0; r < R; r++) {
    emit(`  if (j0 + ${r}u < p.T) {`);
    emit(`    let at = p.gradOff4 + (j0 + ${r}u) * 3u * p.C4;`);
    emit(...perTexel("    ", (d) => [
      `dqkv[at + u32(kx) + ${d}u] = p.alpha * dk${r}_${d};`,
      `dqkv[at + u32(vx) + ${d}u] = dv${r}_${d};`,
    ]));
    emit(`  }`);
  }
  emit(`}`, ``);
  return out.join("\n");
}
