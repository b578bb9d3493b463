import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { conv2dBackward, conv2dForward } from "../../core/nn/ops/conv2d.ts";
import { generate as generateConvCpu } from "../../kernels/conv_cpu.gen.ts";
import { randomArray, relL2 } from "../shared.ts";
import { conv2dBackwardRef, conv2dRef, finiteDifference, type Geom, outSize } from "./ref/dpt_conv.ts";

const rt = await Runtime.create();
const cpuRt = rt;
/** The same device taken as a GPU: the implicit-GEMM kernel (conv.wgsl) for every product, split dw included. */
const gpuRt = new Runtime({ ...rt.ctx, isCpu: false });

// The head's convs in small: 1×1 projection, 3×3 with and without bias, 3×3 stride 2; odd sizes and channel
// counts that leave partial tiles, and a batch of 2.
const CASES: (Geom & { bias: boolean })[] = [
  { batch: 1, cin: 12, h: 5, w: 7, cout: 8, k: 1, stride: 1, pad: 0, bias: true },
  { batch: 2, cin: 6, h: 9, w: 11, cout: 19, k: 3, stride: 1, pad: 1, bias: true },
  { batch: 1, cin: 5, h: 8, w: 6, cout: 3, k: 3, stride: 1, pad: 1, bias: false },
  { batch: 2, cin: 7, h: 5, w: 7, cout: 7, k: 3, stride: 2, pad: 1, bias: true },
  { batch: 1, cin: 3, h: 12, w: 10, cout: 70, k: 3, stride: 2, pad: 1, bias: true },
  // Rows of several 16-pixel segments and a partial 16-channel group (the CPU kernel's blocks).
  { batch: 2, cin: 5, h: 4, w: 37, cout: 33, k: 3, stride: 1, pad: 1, bias: true },
  { batch: 1, cin: 9, h: 3, w: 40, cout: 17, k: 1, stride: 1, pad: 0, bias: true },
  // Long sums for dw: on the GPU kernels split into chunks (weightGradSplits), 2·18·17 = 612 → 2 chunks of
  // 306, and a stride-2 conv whose 3·20·15 = 900 output pixels make 2 chunks of 450 (neither a multiple of
  // TILE_K); on a CPU adapter products over the patches, one per batch item.
  { batch: 2, cin: 4, h: 18, w: 17, cout: 5, k: 3, stride: 1, pad: 1, bias: true },
  { batch: 3, cin: 3, h: 40, w: 30, cout: 6, k: 3, stride: 2, pad: 1, bias: true },
  // 1152 patch values a pixel: the CPU path's dw takes the 1200 pixels in runs of 170 (PATCH_FLOATS).
  { batch: 1, cin: 128, h: 40, w: 30, cout: 3, k: 3, stride: 1, pad: 1, bias: false },
  // On a CPU adapter products (conv_cpu_route.ts): a strided forward over patches in two runs of output
  // pixels (2025 pixels of 1152 patch values, FORWARD_PATCH_FLOATS), its dx by columns; a pointwise conv
  // wide enough for the product path, 2500 pixels in two runs of 256 channels, at batch 2.
  { batch: 1, cin: 128, h: 90, w: 90, cout: 20, k: 3, stride: 2, pad: 1, bias: true },
  { batch: 2, cin: 256, h: 50, w: 50, cout: 16, k: 1, stride: 1, pad: 0, bias: true },
  // Over padded rows on a CPU adapter (conv_rows_product.ts): a forward to 36 channels whose 256 input
  // channels make runs of 93 output rows (RUN_FLOATS), two a batch item; its dx from 36 channels (9 texels).
  { batch: 2, cin: 256, h: 100, w: 30, cout: 36, k: 3, stride: 1, pad: 1, bias: true },
  // 2·64 input planes of 132 padded rows are taller than a texture (16384 texels) stacked: the CPU
  // kernel's packed input takes two columns of planes.
  { batch: 2, cin: 64, h: 130, w: 20, cout: 5, k: 3, stride: 1, pad: 1, bias: true },
  // A 1×1 conv to one channel (output_conv2.2): on a CPU adapter its own kernel where the plane is whole
  // vec4s (6·10 pixels), the direct kernel where not (5·7).
  { batch: 2, cin: 32, h: 6, w: 10, cout: 1, k: 1, stride: 1, pad: 0, bias: true },
  { batch: 1, cin: 7, h: 5, w: 7, cout: 1, k: 1, stride: 1, pad: 0, bias: false },
];

function relu64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v) => Math.max(v, 0));
}

const RUNS = CASES.flatMap((c) => [[c, cpuRt, ""], [c, gpuRt, " (GPU kernels)"]] as const);
for (const [c, rt, kernels] of RUNS) {
  const name = `${c.k}×${c.k}/s${c.stride} ${c.batch}×${c.cin}×${c.h}×${c.w} → ${c.cout}${
    c.bias ? "" : " (no bias)"
  }${kernels}`;
  Deno.test(`conv2d ${name}: forward, dx, dw, db match float64`, async () => {
    const [oh, ow] = outSize(c);
    const x = randomArray(c.batch * c.cin * c.h * c.w, 1);
    const w = randomArray(c.cout * c.cin * c.k * c.k, 2);
    const b = c.bias ? randomArray(c.cout, 3) : undefined;
    const dy = randomArray(c.batch * c.cout * oh * ow, 4);
    const xt = rt.upload("act/x", [c.batch, c.cin, c.h, c.w], x);
    const wt = rt.upload("weights/w", [c.cout, c.cin, c.k, c.k], w);
    const bt = b ? rt.upload("weights/b", [c.cout], b) : undefined;
    const dyt = rt.upload("grads/dy", [c.batch, c.cout, oh, ow], dy);
    const dw = rt.tensor("grads/w", [c.cout, c.cin, c.k, c.k]);
    const db = rt.tensor("grads/b", [c.cout]);
    const weights = { weight: wt, bias: bt };
    const { y, saved } = conv2dForward(rt, { x: xt }, weights, "conv", { stride: c.stride, pad: c.pad });
    const dx = conv2dBackward(rt, saved, weights, dyt, { weight: dw, bias: db, input: true }, "conv")!;
    const want = conv2dRef(x, w, b, c);
    const grads = conv2dBackwardRef(x, w, dy, c);
    const errors = {
      y: relL2(await rt.read(y), want),
      dx: relL2(await rt.read(dx), grads.dx),
      dw: relL2(await rt.read(dw), grads.dw),
      db: c.bias ? relL2(await rt.read(db), grads.db) : 0,
    };
    for (const [k, e] of Object.entries(errors)) assert(e < 1e-6, `${k} rel_l2 ${e}`);
    // A split dw accumulates like an unsplit one: a second backward adds the same gradient again.
    conv2dBackward(rt, saved, weights, dyt, { weight: dw, accumulate: true }, "conv");
    const twice = grads.dw.map((v) => 2 * v);
    assert(relL2(await rt.read(dw), twice) < 1e-6, "dw accumulated over two backwards");
    rt.free(xt, wt, dyt, dw, db, y, dx, ...(bt ? [bt] : []));
  });
}

Deno.test("conv2d fusions: relu(x) in, relu out, residual add, token input, accumulate", async () => {
  const g: Geom = { batch: 1, cin: 6, h: 5, w: 7, cout: 6, k: 3, stride: 1, pad: 1 };
  const x = randomArray(6 * 35, 5);
  const w = randomArray(6 * 6 * 9, 6);
  const b = randomArray(6, 7);
  const r = randomArray(6 * 35, 8);
  const xt = rt.upload("act/x", [1, 6, 5, 7], x);
  const wt = rt.upload("weights/w", [6, 6, 3, 3], w);
  const bt = rt.upload("weights/b", [6], b);
  const rtn = rt.upload("act/r", [1, 6, 5, 7], r);
  // relu → conv → relu, then + r: every fusion at once against the composed reference.
  const fused = { pad: 1, reluIn: true, reluOut: true };
  const { y } = conv2dForward(rt, { x: xt, residual: rtn }, { weight: wt, bias: bt }, "c", fused);
  const want = relu64(conv2dRef(relu64(x), w, b, g)).map((v, i) => v + r[i]);
  assert(relL2(await rt.read(y), want) < 1e-6);

  // Tokens [1, 35, 6] through a 1×1 conv equal the NCHW permute through it.
  const tokens = new Float32Array(35 * 6);
  for (let p = 0; p < 35; p++) for (let ch = 0; ch < 6; ch++) tokens[p * 6 + ch] = x[ch * 35 + p];
  const tt = rt.upload("act/tokens", [1, 35, 6], tokens);
  const w1 = rt.upload("weights/w1", [4, 6, 1, 1], w.subarray(0, 24));
  const proj = { weight: w1 };
  const { y: yp, saved } = conv2dForward(rt, { x: tt, grid: [5, 7] }, proj, "proj");
  assert(
    relL2(await rt.read(yp), conv2dRef(x, w.subarray(0, 24), undefined, { ...g, cout: 4, k: 1, pad: 0 })) <
      1e-6,
  );
  // ... and its input gradient comes back as tokens; weight gradients accumulate.
  const dy = randomArray(4 * 35, 9);
  const dyt = rt.upload("grads/dy", [1, 4, 5, 7], dy);
  const dw = rt.upload("grads/w1", [4, 6, 1, 1], new Float32Array(24).fill(1));
  const dx = conv2dBackward(rt, saved, proj, dyt, { weight: dw, input: true, accumulate: true }, "proj")!;
  const ref = conv2dBackwardRef(x, w.subarray(0, 24), dy, { ...g, cout: 4, k: 1, pad: 0 });
  const dxTokens = new Float64Array(35 * 6);
  for (let p = 0; p < 35; p++) for (let ch = 0; ch < 6; ch++) dxTokens[p * 6 + ch] = ref.dx[ch * 35 + p];
  assert.deepEqual(dx.shape, [1, 35, 6]);
  assert(relL2(await rt.read(dx), dxTokens) < 1e-6);
  assert(relL2(await rt.read(dw), ref.dw.map((v) => v + 1)) < 1e-6);
  rt.free(xt, wt, bt, rtn, y, tt, w1, yp, dyt, dw, dx);
});

Deno.test("conv2d 1×1 to one channel: relu(x) in, relu out and residual add, batch 2", async () => {
  const g: Geom = { batch: 2, cin: 9, h: 4, w: 6, cout: 1, k: 1, stride: 1, pad: 0 };
  const x = randomArray(2 * 9 * 24, 10);
  const w = randomArray(9, 11);
  const r = randomArray(2 * 24, 12);
  const xt = rt.upload("act/x", [2, 9, 4, 6], x);
  const wt = rt.upload("weights/w", [1, 9, 1, 1], w);
  const bt = rt.upload("weights/b", [1], Float32Array.of(0.25));
  const rtn = rt.upload("act/r", [2, 1, 4, 6], r);
  const fused = { reluIn: true, reluOut: true };
  const { y } = conv2dForward(rt, { x: xt, residual: rtn }, { weight: wt, bias: bt }, "c", fused);
  const want = relu64(conv2dRef(relu64(x), w, Float32Array.of(0.25), g)).map((v, i) => v + r[i]);
  assert(relL2(await rt.read(y), want) < 1e-6);
  rt.free(xt, wt, bt, rtn, y);
});

// On a CPU adapter, a pointwise conv with ≥ 16 channels both ways runs as products, forward and dx; a 3×3
// stride-1 conv with ≥ 32 both ways over padded rows (conv_rows_product.ts), its dx into tokens excepted,
// and its weight gradient too (conv_weight_grad_rows.ts).
const PRODUCT_FUSIONS: Geom[] = [
  { batch: 2, cin: 20, h: 3, w: 7, cout: 18, k: 1, stride: 1, pad: 0 },
  { batch: 2, cin: 36, h: 5, w: 9, cout: 34, k: 3, stride: 1, pad: 1 },
];
for (const g of PRODUCT_FUSIONS) {
  const kernel = `${g.k}×${g.k}`;
  Deno.test(`conv2d ${kernel} products: tokens in and out, relu in and out, residual, ReLU mask, dw`, async () => {
    const pixels = g.h * g.w;
    const x = randomArray(g.batch * g.cin * pixels, 17);
    const w = randomArray(g.cout * g.cin * g.k * g.k, 18);
    const b = randomArray(g.cout, 19);
    const r = randomArray(g.batch * g.cout * pixels, 20);
    const dy = randomArray(g.batch * g.cout * pixels, 21);
    const mask = randomArray(g.batch * g.cin * pixels, 22);
    const tokens = new Float32Array(x.length);
    const toTokens = <T extends Float32Array | Float64Array>(v: ArrayLike<number>, out: T, ch: number): T => {
      for (let n = 0; n < g.batch; n++) {
        for (let p = 0; p < pixels; p++) {
          for (let c = 0; c < ch; c++) out[(n * pixels + p) * ch + c] = v[(n * ch + c) * pixels + p];
        }
      }
      return out;
    };
    toTokens(x, tokens, g.cin);
    const wt = rt.upload("weights/w", [g.cout, g.cin, g.k, g.k], w);
    const bt = rt.upload("weights/b", [g.cout], b);
    const tt = rt.upload("act/tokens", [g.batch, pixels, g.cin], tokens);
    const xt = rt.upload("act/x", [g.batch, g.cin, g.h, g.w], x);
    const rtn = rt.upload("act/r", [g.batch, g.cout, g.h, g.w], r);
    const dyt = rt.upload("grads/dy", [g.batch, g.cout, g.h, g.w], dy);
    const maskT = rt.upload(
      "act/mask",
      [g.batch, pixels, g.cin],
      toTokens(mask, new Float32Array(mask.length), g.cin),
    );

    // Tokens in, bias, ReLU out, residual; then without the residual (the backward masks dy by y), dx back
    // as tokens through a ReLU mask.
    const weights = { weight: wt, bias: bt };
    const tokensIn = { x: tt, grid: [g.h, g.w] as const };
    const { y: withResidual } = conv2dForward(rt, { ...tokensIn, residual: rtn }, weights, "proj", {
      reluOut: true,
      pad: g.pad,
    });
    const pre = conv2dRef(x, w, b, g);
    assert(relL2(await rt.read(withResidual), relu64(pre).map((v, i) => v + r[i])) < 1e-6, "tokens forward");
    const { y, saved } = conv2dForward(rt, tokensIn, weights, "proj", { reluOut: true, pad: g.pad });
    const dw = rt.tensor("grads/w", wt.shape);
    const dx = conv2dBackward(
      rt,
      saved,
      weights,
      dyt,
      { input: true, maskInputBy: maskT, weight: dw },
      "proj",
    )!;
    const dpre = dy.map((v, i) => (pre[i] > 0 ? v : 0));
    const ref = conv2dBackwardRef(x, w, dpre, g);
    const want = toTokens(ref.dx.map((v, i) => (mask[i] > 0 ? v : 0)), new Float64Array(x.length), g.cin);
    assert.deepEqual(dx.shape, [g.batch, pixels, g.cin]);
    assert(relL2(await rt.read(dx), want) < 1e-6, "tokens dx");
    assert(relL2(await rt.read(dw), ref.dw) < 1e-6, "tokens dw");

    // ReLU in (read through the patches), and dx masked by x itself.
    const { y: y2, saved: saved2 } = conv2dForward(rt, { x: xt }, weights, "unit", {
      reluIn: true,
      pad: g.pad,
    });
    assert(relL2(await rt.read(y2), conv2dRef(relu64(x), w, b, g)) < 1e-6, "relu-in forward");
    const dw2 = rt.tensor("grads/w2", wt.shape);
    const dx2 = conv2dBackward(rt, saved2, weights, dyt, { input: true, weight: dw2 }, "unit")!;
    const ref2 = conv2dBackwardRef(relu64(x), w, dy, g);
    assert(relL2(await rt.read(dx2), ref2.dx.map((v, i) => (x[i] > 0 ? v : 0))) < 1e-6, "relu-in dx");
    assert(relL2(await rt.read(dw2), ref2.dw) < 1e-6, "relu-in dw");
    rt.free(wt, bt, tt, xt, rtn, dyt, maskT, withResidual, y, dx, dw, y2, dx2, dw2);
  });
}

Deno.test("conv2d reluIn backward: gradients through relu(x) match float64", async () => {
  const g: Geom = { batch: 1, cin: 4, h: 6, w: 5, cout: 5, k: 3, stride: 1, pad: 1 };
  const x = randomArray(4 * 30, 10);
  const w = randomArray(5 * 4 * 9, 11);
  const dy = randomArray(5 * 30, 12);
  const xt = rt.upload("act/x", [1, 4, 6, 5], x);
  const wt = rt.upload("weights/w", [5, 4, 3, 3], w);
  const dyt = rt.upload("grads/dy", [1, 5, 6, 5], dy);
  const dw = rt.tensor("grads/w", [5, 4, 3, 3]);
  const { y, saved } = conv2dForward(rt, { x: xt }, { weight: wt }, "c", { pad: 1, reluIn: true });
  const dx = conv2dBackward(rt, saved, { weight: wt }, dyt, { weight: dw, input: true }, "c")!;
  const ref = conv2dBackwardRef(relu64(x), w, dy, g);
  assert(relL2(await rt.read(dx), ref.dx.map((v, i) => (x[i] > 0 ? v : 0))) < 1e-6);
  assert(relL2(await rt.read(dw), ref.dw) < 1e-6);
  rt.free(xt, wt, dyt, dw, y, dx);
});

Deno.test("conv2d float64 reference: backward equals finite differences (stride 2, padding)", () => {
  const g: Geom = { batch: 2, cin: 3, h: 5, w: 6, cout: 4, k: 3, stride: 2, pad: 1 };
  const [oh, ow] = outSize(g);
  const x = Float64Array.from(randomArray(2 * 3 * 30, 13));
  const w = Float64Array.from(randomArray(4 * 3 * 9, 14));
  const b = Float64Array.from(randomArray(4, 15));
  const dy = randomArray(2 * 4 * oh * ow, 16);
  const grads = conv2dBackwardRef(x, w, dy, g);
  const forward = () => conv2dRef(x, w, b, g);
  for (const [param, grad] of [[x, grads.dx], [w, grads.dw], [b, grads.db]] as const) {
    for (const { index, fd } of finiteDifference(param, dy, forward)) {
      assert(Math.abs(fd - grad[index]) < 1e-7 * Math.max(1, Math.abs(fd)), `${fd} vs ${grad[index]}`);
    }
  }
});

Deno.test("the committed kernels/conv_cpu.wgsl is what kernels/conv_cpu.gen.ts generates", async () => {
  const committed = await Deno.readTextFile(new URL("../../kernels/conv_cpu.wgsl", import.meta.url));
  assert.equal(committed, generateConvCpu());
});

Deno.test("conv2d 1×1 to one channel, weight gradient by texel views: chunks of channels, batch 2, accumulate", async () => {
  // Planes of 120000 values: on a CPU adapter the views take 8 channels at a time (chunks of 8, 8 and 4) for
  // each batch item; the GPU kernels are the reference path.
  const g: Geom = { batch: 2, cin: 20, h: 300, w: 400, cout: 1, k: 1, stride: 1, pad: 0 };
  const x = randomArray(2 * 20 * 120000, 13);
  const w = randomArray(20, 14);
  const dy = randomArray(2 * 120000, 15);
  const want = conv2dBackwardRef(x, w, dy, g).dw.map((v) => v + 0.5);
  for (const runtime of [cpuRt, gpuRt]) {
    const xt = runtime.upload("act/x", [2, 20, 300, 400], x);
    const wt = runtime.upload("weights/w", [1, 20, 1, 1], w);
    const dyt = runtime.upload("grads/dy", [2, 1, 300, 400], dy);
    const dw = runtime.upload("grads/w", [1, 20, 1, 1], new Float32Array(20).fill(0.5));
    const { y, saved } = conv2dForward(runtime, { x: xt }, { weight: wt }, "c");
    conv2dBackward(runtime, saved, { weight: wt }, dyt, { weight: dw, accumulate: true }, "c");
    const e = relL2(await runtime.read(dw), want);
    assert(e < 1e-6, `${runtime === cpuRt ? "CPU" : "GPU"} kernels: dw rel_l2 ${e}`);
    runtime.free(xt, wt, dyt, dw, y);
  }
});
