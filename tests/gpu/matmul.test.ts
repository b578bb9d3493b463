import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { type BatchStride, matmul, type MatmulArgs } from "../../core/gpu/matmul.ts";
import { TrompeError } from "../../core/errors.ts";
import { generate, generateVec4Store } from "../../kernels/matmul_cpu.gen.ts";
import { generate as generateTile128 } from "../../kernels/matmul_tile128.gen.ts";
import {
  operandTexture,
  packOperand,
  productOnTextures,
  textureShapes,
  workgroupWidth,
} from "../../core/gpu/matmul_cpu.ts";
import { randomArray, relL2 } from "../shared.ts";

const rt = await Runtime.create();

type Variant = "cpu" | "tile128" | "tiled" | "vec4";

/** One product with host copies of every operand, described like `MatmulArgs` but without tensors. */
interface Case {
  name: string;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  bias?: boolean;
  accumulate?: boolean;
  alpha?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
  offA?: number;
  offB?: number;
  offC?: number;
  batch?: number;
  inner?: number;
  strideA?: BatchStride;
  strideB?: BatchStride;
  strideC?: BatchStride;
}

/** Buffer sizes for a case: the last element any batch item touches, plus one. */
function extent(
  rows: number,
  cols: number,
  ld: number,
  off: number,
  batch: number,
  inner: number,
  s: BatchStride,
) {
  const outer = Math.floor((batch - 1) / inner);
  const innerLast = Math.min(batch - 1, inner - 1);
  return off + outer * s[0] + innerLast * s[1] + (rows - 1) * ld + cols;
}

/** The float64 reference: C ← alpha·op(A)·op(B) + bias (+ C) on every batch item, other elements untouched. */
function reference(
  c: Required<Omit<Case, "name" | "bias">>,
  a: Float32Array,
  b: Float32Array,
  bias: Float32Array | undefined,
  c0: Float32Array,
) {
  const out = Float64Array.from(c0);
  for (let z = 0; z < c.batch; z++) {
    const outer = Math.floor(z / c.inner);
    const i = z % c.inner;
    const baseA = c.offA + outer * c.strideA[0] + i * c.strideA[1];
    const baseB = c.offB + outer * c.strideB[0] + i * c.strideB[1];
    const baseC = c.offC + outer * c.strideC[0] + i * c.strideC[1];
    for (let r = 0; r < c.m; r++) {
      for (let col = 0; col < c.n; col++) {
        let sum = 0;
        for (let k = 0; k < c.k; k++) {
          const av = a[baseA + (c.transA ? k * c.lda + r : r * c.lda + k)];
          const bv = b[baseB + (c.transB ? col * c.ldb + k : k * c.ldb + col)];
          sum += av * bv;
        }
        const at = baseC + r * c.ldc + col;
        out[at] = c.alpha * sum + (bias ? bias[col] : 0) + (c.accumulate ? c0[at] : 0);
      }
    }
  }
  return out;
}

async function check(variant: Variant, spec: Case, seed: number): Promise<void> {
  const batch = spec.batch ?? 1;
  const inner = spec.inner ?? batch;
  const { m, n, k } = spec;
  const transA = spec.transA ?? false;
  const transB = spec.transB ?? false;
  const full = {
    m,
    n,
    k,
    transA,
    transB,
    accumulate: spec.accumulate ?? false,
    alpha: spec.alpha ?? 1,
    lda: spec.lda ?? (transA ? m : k),
    ldb: spec.ldb ?? (transB ? k : n),
    ldc: spec.ldc ?? n,
    offA: spec.offA ?? 0,
    offB: spec.offB ?? 0,
    offC: spec.offC ?? 0,
    batch,
    inner,
    strideA: spec.strideA ?? [m * k * inner, m * k] as BatchStride,
    strideB: spec.strideB ?? [k * n * inner, k * n] as BatchStride,
    strideC: spec.strideC ?? [m * n * inner, m * n] as BatchStride,
  };
  const aHost = randomArray(
    extent(transA ? k : m, transA ? m : k, full.lda, full.offA, batch, inner, full.strideA),
    seed,
  );
  const bHost = randomArray(
    extent(transB ? n : k, transB ? k : n, full.ldb, full.offB, batch, inner, full.strideB),
    seed + 1,
  );
  const cHost = randomArray(extent(m, n, full.ldc, full.offC, batch, inner, full.strideC) + 3, seed + 2);
  const biasHost = spec.bias ? randomArray(n, seed + 3) : undefined;
  const a = rt.upload("act/a", [aHost.length], aHost);
  const b = rt.upload("act/b", [bHost.length], bHost);
  const c = rt.upload("act/c", [cHost.length], cHost);
  const bias = biasHost ? rt.upload("weights/bias", [n], biasHost) : undefined;
  const args: MatmulArgs = { ...full, a, b, c, bias, variant, label: `test/${spec.name}` };
  matmul(rt, args);
  const got = await rt.read(c);
  const want = reference(full, aHost, bHost, biasHost, cHost);
  const err = relL2(got, want);
  // f32 accumulation over k terms of size ~1: rel_l2 of a few 1e-7.
  assert(err < 1e-6, `${variant} ${spec.name}: rel_l2 ${err}`);
  // Elements outside every batch item's block (gaps from ldc, offC, strides) keep their values exactly.
  const written = new Set<number>();
  for (let z = 0; z < batch; z++) {
    const base = full.offC + Math.floor(z / inner) * full.strideC[0] + (z % inner) * full.strideC[1];
    for (let r = 0; r < m; r++) for (let col = 0; col < n; col++) written.add(base + r * full.ldc + col);
  }
  for (let i = 0; i < got.length; i++) {
    if (!written.has(i)) assert.equal(got[i], cHost[i], `${variant} ${spec.name}: element ${i} overwritten`);
  }
  rt.free(a, b, c, ...(bias ? [bias] : []));
}

/** Odd, unaligned shapes and layouts: every path must handle them (the vec4 kernel refuses them). */
const UNALIGNED: Case[] = [
  { name: "A·B 37×53×29", m: 37, n: 53, k: 29 },
  { name: "A·Bᵀ 37×53×29", m: 37, n: 53, k: 29, transB: true },
  { name: "Aᵀ·B 37×53×29", m: 37, n: 53, k: 29, transA: true },
  { name: "Aᵀ·Bᵀ 37×53×29", m: 37, n: 53, k: 29, transA: true, transB: true },
  { name: "bias and alpha", m: 33, n: 70, k: 17, bias: true, alpha: -0.75 },
  { name: "accumulate with bias", m: 41, n: 9, k: 130, accumulate: true, bias: true, transB: true },
  { name: "single row and column", m: 1, n: 1, k: 7 },
  {
    name: "offsets and leading dimensions",
    m: 19,
    n: 23,
    k: 11,
    lda: 15,
    ldb: 30,
    ldc: 27,
    offA: 3,
    offB: 5,
    offC: 7,
  },
  {
    // Attention-like: heads as batch items reading one interleaved [T, 3C] buffer (outer = batch, inner = head).
    name: "batched with inner and strides",
    m: 13,
    n: 13,
    k: 6,
    transB: true,
    alpha: 0.4,
    lda: 36,
    ldb: 36,
    offA: 1,
    offB: 13,
    batch: 6,
    inner: 3,
    strideA: [13 * 36, 6],
    strideB: [13 * 36, 6],
    strideC: [3 * 169 + 5, 169],
  },
  // Past one 128×128 tile of the GPU kernel both ways, K over several of its steps.
  {
    name: "several tiles: A·Bᵀ 150×300×50 with bias and alpha",
    m: 150,
    n: 300,
    k: 50,
    transB: true,
    bias: true,
    alpha: 0.5,
  },
  // Narrow C without bias: the CPU path runs these as Cᵀ = op(B)ᵀ·op(A)ᵀ and stores C transposed.
  { name: "narrow C: A·B 300×20×37", m: 300, n: 20, k: 37 },
  {
    name: "narrow C: Aᵀ·Bᵀ with offsets, leading dimensions, alpha and accumulate",
    m: 260,
    n: 9,
    k: 31,
    transA: true,
    transB: true,
    lda: 263,
    ldb: 33,
    ldc: 12,
    offA: 2,
    offB: 1,
    offC: 3,
    alpha: 1.5,
    accumulate: true,
  },
  {
    // Attention's P·V: per head, probabilities [T, T] times that head's columns of an interleaved V.
    name: "narrow C: batched like attention's P·V",
    m: 150,
    n: 16,
    k: 150,
    ldb: 32,
    ldc: 32,
    batch: 4,
    inner: 2,
    strideA: [2 * 22500, 22500],
    strideB: [150 * 32, 16],
    strideC: [150 * 32, 16],
  },
  {
    name: "batched Aᵀ·B with a shared operand",
    m: 10,
    n: 21,
    k: 17,
    transA: true,
    accumulate: true,
    batch: 4,
    inner: 2,
    strideA: [0, 170],
    strideB: [2 * 357, 357],
  },
];

/** Shapes the vec4 kernel accepts (and the CPU path reads without zero padding along k). */
const ALIGNED: Case[] = [
  { name: "A·B 64×128×96", m: 64, n: 128, k: 96 },
  { name: "A·Bᵀ 68×36×44 with bias", m: 68, n: 36, k: 44, transB: true, bias: true },
  { name: "Aᵀ·B 36×40×132 accumulate", m: 36, n: 40, k: 132, transA: true, accumulate: true, alpha: 2 },
  {
    name: "batched A·B with strides",
    m: 20,
    n: 24,
    k: 8,
    lda: 16,
    offA: 4,
    offC: 8,
    batch: 4,
    inner: 2,
    strideA: [640, 320],
    strideB: [0, 192],
    strideC: [1024, 480],
  },
];

/**
 * Operands whose rows are whole texels 256 bytes apart: the CPU path copies them into its textures with
 * copyBufferToTexture, each the way it is stored (A along m when transposed, B along k when transposed).
 */
const COPIED: Case[] = [
  { name: "copied A·B 68×128×64", m: 68, n: 128, k: 64 },
  { name: "copied A·Bᵀ 68×132×128 with bias", m: 68, n: 132, k: 128, transB: true, bias: true },
  {
    name: "copied Aᵀ·B 132×128×64 accumulate",
    m: 132,
    n: 128,
    k: 64,
    transA: true,
    lda: 192,
    accumulate: true,
  },
  {
    name: "copied Aᵀ·Bᵀ 128×72×128 with offsets and alpha",
    m: 128,
    n: 72,
    k: 128,
    transA: true,
    transB: true,
    lda: 192,
    ldb: 128,
    offA: 8,
    offB: 4,
    alpha: 0.5,
  },
  {
    name: "copied batched A·B with strides",
    m: 20,
    n: 64,
    k: 64,
    lda: 64,
    ldb: 128,
    offB: 64,
    batch: 4,
    inner: 2,
    strideA: [2560, 1280],
    strideB: [0, 64],
  },
];

Deno.test("matmul (cpu) copies operands stored in whole aligned texels, in every layout, and matches", async () => {
  const copy = rt.copyToTexture.bind(rt);
  let copies = 0;
  rt.copyToTexture = (...args: Parameters<typeof copy>) => {
    copies++;
    copy(...args);
  };
  try {
    for (const [i, spec] of COPIED.entries()) {
      copies = 0;
      await check("cpu", spec, 700 + 10 * i);
      assert.equal(copies, 2 * (spec.batch ?? 1), `${spec.name}: both operands of every batch item copied`);
    }
  } finally {
    rt.copyToTexture = copy;
  }
});

/** C = A·B [m, n] in float64, A [m, k] and B [k, n] stored straight. */
function product(aData: Float32Array, bData: Float32Array, m: number, n: number, k: number): Float64Array {
  const want = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = aData[i * k + p];
      for (let j = 0; j < n; j++) want[i * n + j] += av * bData[p * n + j];
    }
  }
  return want;
}

/** Runs A·B [m, n] with `k` on the CPU path and reads C back. */
async function runCpu(aData: Float32Array, bData: Float32Array, m: number, n: number, k: number) {
  const a = rt.upload("act/a", [m, k], aData);
  const b = rt.upload("act/b", [k, n], bData);
  const c = rt.tensor("act/c", [m, n]);
  matmul(rt, { a, b, c, m, n, k, variant: "cpu" });
  const got = await rt.read(c);
  rt.free(a, b, c);
  return got;
}

Deno.test("matmul (cpu): a copied operand never reads what a reused texture held past it", async () => {
  // Each time a first product, packed by the kernel, leaves NaN in texels of a scratch texture that the
  // second product's copied operand does not cover; the second reuses a texture of the same size.
  const [m, n] = [68, 128];
  // A's last column of texels: K = 1028 (257 texels, 1028 floats a row, not copyable) leaves NaN past
  // k = 1024 where K = 1024 copies 256 texels into a texture 257 wide (a power of two made longer).
  const nanPast = (rows: number, cols: number, from: number, seed: number) => {
    const x = randomArray(rows * cols, seed);
    for (let r = 0; r < rows; r++) x.fill(NaN, r * cols + from, (r + 1) * cols);
    return x;
  };
  await runCpu(nanPast(m, 1028, 1024, 1), randomArray(1028 * n, 2), m, n, 1028);
  let a = randomArray(m * 1024, 3), b = randomArray(1024 * n, 4);
  let got = await runCpu(a, b, m, n, 1024);
  assert.ok(got.every(Number.isFinite), "no NaN from A's stale texels");
  assert.ok(relL2(got, product(a, b, m, n, 1024)) < 1e-5);
  // B's rows past K: K = 68 leaves NaN in rows 66 and 67 of B's texture; K = 66 copies 66 rows of B into
  // a texture of the same 68 rows, which the kernel reads to the end of its last texel of k.
  const bNaN = randomArray(68 * n, 5);
  bNaN.fill(NaN, 66 * n);
  await runCpu(randomArray(m * 68, 6), bNaN, m, n, 68);
  a = randomArray(m * 66, 7);
  b = randomArray(66 * n, 8);
  got = await runCpu(a, b, m, n, 66);
  assert.ok(got.every(Number.isFinite), "no NaN from B's stale rows past K");
  assert.ok(relL2(got, product(a, b, m, n, 66)) < 1e-5);
});

Deno.test("packOperand copies rows of A that do not run along k without writing past its texture", async () => {
  // A [70, 64] straight with rows 256 bytes apart: copied; its texture is 70 rows high (rows along m, read
  // clamped), so no zero rows follow it, whatever the caller says of its rows.
  const [m, n, k] = [70, 128, 64];
  const aData = randomArray(m * k, 11), bData = randomArray(k * n, 12);
  const a = rt.upload("act/a", [m, k], aData);
  const b = rt.upload("act/b", [k, n], bData);
  const c = rt.tensor("act/c", [m, n]);
  const shapes = textureShapes({ m, n, k });
  assert.equal(shapes.a[1], m);
  const texA = operandTexture(rt, shapes.a), texB = operandTexture(rt, shapes.b);
  packOperand(rt, { tensor: a, rows: m, cols: k, ld: k, trans: false, off: 0 }, texA, shapes.a, "test/a");
  packOperand(rt, { tensor: b, rows: k, cols: n, ld: n, trans: false, off: 0 }, texB, shapes.b, "test/b");
  productOnTextures(
    rt,
    { m, n, k, c, ldc: n, offC: 0, accumulate: false, label: "test/product" },
    texA,
    texB,
  );
  const got = await rt.read(c);
  rt.pool.free(texA);
  rt.pool.free(texB);
  assert.ok(relL2(got, product(aData, bData, m, n, k)) < 1e-6);
  rt.free(a, b, c);
});

for (const variant of ["cpu", "tile128", "tiled"] as const) {
  Deno.test(`matmul (${variant}) matches the float64 reference on odd shapes, layouts and epilogues`, async () => {
    for (const [i, spec] of UNALIGNED.entries()) await check(variant, spec, 100 + 10 * i);
  });
}

for (const variant of ["cpu", "tile128", "tiled", "vec4"] as const) {
  Deno.test(`matmul (${variant}) matches the float64 reference on aligned shapes`, async () => {
    for (const [i, spec] of ALIGNED.entries()) await check(variant, spec, 500 + 10 * i);
  });
}

/** Products whose C the CPU path stores a vec4 at a time (true) or a float at a time (false). */
const STORES: [Case, boolean][] = [
  [{ name: "A·Bᵀ 45×132×40 with bias", m: 45, n: 132, k: 40, transB: true, bias: true }, true],
  [{
    name: "accumulate, alpha, ldc and offC on texels",
    m: 37,
    n: 64,
    k: 29,
    accumulate: true,
    alpha: 0.5,
    ldc: 72,
    offC: 8,
  }, true],
  [
    { name: "batched with strides on texels", m: 20, n: 24, k: 16, batch: 4, inner: 2, strideC: [1024, 480] },
    true,
  ],
  [{ name: "offC inside a texel", m: 37, n: 64, k: 29, offC: 2 }, false],
  [{ name: "N not a multiple of 4", m: 37, n: 66, k: 29, bias: true }, false],
  [{ name: "ldc not a multiple of 4", m: 9, n: 16, k: 8, ldc: 18 }, false],
  [{ name: "narrow C, run transposed", m: 300, n: 8, k: 16 }, false],
];

Deno.test("matmul (cpu) stores C a vec4 at a time only where its rows are whole aligned texels", async () => {
  const dispatch = rt.dispatch.bind(rt);
  const files: string[] = [];
  rt.dispatch = (...args: Parameters<typeof dispatch>) => {
    if (args[0].file.startsWith("matmul_cpu")) files.push(args[0].file);
    dispatch(...args);
  };
  try {
    for (const [i, [spec, vec4]] of STORES.entries()) {
      files.length = 0;
      await check("cpu", spec, 950 + 10 * i);
      const want = vec4 ? "matmul_cpu_vec4.wgsl" : "matmul_cpu.wgsl";
      assert.deepEqual(files, Array(spec.batch ?? 1).fill(want), spec.name);
    }
  } finally {
    rt.dispatch = dispatch;
  }
});

Deno.test("matmul (cpu) at a ViT shape: 197×384×1536 with bias", async () => {
  await check("cpu", { name: "vit-s fc2 at 224²", m: 197, n: 384, k: 1536, transB: true, bias: true }, 900);
});

/**
 * The path choice depends on `isCpu` alone, so both sides are tested on any adapter through views of the same
 * device: taken as a CPU adapter it packs the operands into scratch textures and frees them; taken as a GPU it
 * runs the 128-tile kernel on the buffers as they are, with no scratch at all. Both give the product.
 */
for (const isCpu of [true, false]) {
  const path = isCpu ? "the CPU path and frees its operand copies" : "the GPU kernel, with no operand copies";
  Deno.test(`matmul on a ${isCpu ? "CPU" : "GPU"} adapter takes ${path}`, async () => {
    const view = new Runtime({ ...rt.ctx, isCpu });
    const aData = randomArray(35, 1), bData = randomArray(21, 2);
    const a = view.upload("act/a", [5, 7], aData);
    const b = view.upload("act/b", [7, 3], bData);
    const c = view.tensor("act/c", [5, 3]);
    view.pool.resetPeak();
    matmul(view, { a, b, c, m: 5, n: 3, k: 7 });
    await view.sync();
    const stats = view.pool.stats();
    if (isCpu) {
      // Both copies were live at once, 16 bytes a texel: A as 5 rows of 2 texels, B as 8 rows of 1 texel,
      // each side below 3 or a power of two made longer (one shader variant on llvmpipe): A 3×5, B 3×9 texels.
      assert.equal(stats.peakByCategory["scratch"], (3 * 5 + 3 * 9) * 16);
    } else {
      assert.equal(stats.peakByCategory["scratch"], undefined, "the GPU kernel needs no operand copies");
    }
    assert.equal(stats.liveByCategory["scratch"], undefined);
    assert(!view.pool.liveLabels().includes("scratch/matmul-pack"));
    const want = new Float64Array(15);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 3; j++) {
        for (let p = 0; p < 7; p++) want[i * 3 + j] += aData[i * 7 + p] * bData[p * 3 + j];
      }
    }
    assert.ok(relL2(await view.read(c), want) < 1e-6);
    view.free(a, b, c);
  });
}

Deno.test("kernels/matmul_tile128.wgsl is what kernels/matmul_tile128.gen.ts generates", () => {
  const committed = Deno.readTextFileSync(new URL("../../kernels/matmul_tile128.wgsl", import.meta.url));
  assert.equal(committed, generateTile128());
});

for (
  const [file, write] of [["matmul_cpu.wgsl", generate], ["matmul_cpu_vec4.wgsl", generateVec4Store]] as const
) {
  Deno.test(`kernels/${file} is what kernels/matmul_cpu.gen.ts generates`, () => {
    const committed = Deno.readTextFileSync(new URL(`../../kernels/${file}`, import.meta.url));
    assert.equal(committed, write());
  });
}

Deno.test("matmul refuses bad shapes with a clear error", () => {
  const a = rt.tensor("act/a", [4, 8]);
  const b = rt.tensor("act/b", [8, 4]);
  const c = rt.tensor("act/c", [4, 4]);
  const bias = rt.tensor("weights/bias", [3]);
  const aWide = rt.tensor("act/a-wide", [40]);
  const tall = rt.tensor("act/a-tall", [131076]);
  const bad: [Partial<MatmulArgs>, string, RegExp][] = [
    [{ m: 0 }, "shape-mismatch", /empty dimension/],
    [{ k: 9 }, "shape-mismatch", /reads A/],
    [{ batch: 2 }, "shape-mismatch", /reads A/],
    [{ ldc: 5 }, "shape-mismatch", /reads C/],
    [{ transB: true, ldb: 9 }, "shape-mismatch", /reads B/],
    [{ bias }, "shape-mismatch", /bias .* 3 values for 4 columns/],
    [{ a: aWide, offA: 2, variant: "vec4" }, "bad-argument", /multiples of 4/],
    // 4·(2^15 + 1) rows: A's copy would be a texture taller than any adapter allows.
    [
      { a: tall, c: tall, m: 131076, n: 1, k: 1, variant: "cpu" },
      "bad-argument",
      /does not fit the CPU path/,
    ],
  ];
  for (const [change, code, message] of bad) {
    assert.throws(
      () => matmul(rt, { a, b, c, m: 4, n: 4, k: 8, ...change }),
      (e: unknown) => e instanceof TrompeError && e.code === code && message.test(e.message),
      JSON.stringify(Object.keys(change)),
    );
  }
  rt.free(a, b, c, bias, aWide, tall);
});

Deno.test("the CPU path's workgroup width: 16 lanes for wide products, 8 where 16 would mostly run past N", () => {
  assert.equal(workgroupWidth(4096), 16);
  assert.equal(workgroupWidth(1536), 16);
  assert.equal(workgroupWidth(1152), 8); // ViT-S's qkv: 16 lanes would fill its columns to 90 %
  assert.equal(workgroupWidth(64), 8); // attention's P·V: a 16-lane workgroup would span 256 columns
  assert.equal(workgroupWidth(384), 8);
  assert.equal(workgroupWidth(1), 8);
});
