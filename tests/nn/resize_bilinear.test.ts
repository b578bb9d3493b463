import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { resizeBilinearBackward, resizeBilinearForward } from "../../core/nn/ops/resize_bilinear.ts";
import { bilinearAlignCorners, bilinearAlignCornersBackward } from "../../core/nn/resize_ref.ts";
import { assertSameBits, randomArray, relL2 } from "../shared.ts";

const rt = await Runtime.create();

// Up by the head's factors (×2 fusions, 40×56 → 70×98), down (infer to a smaller image), to and from 1.
// On a CPU adapter the forward reads a few planes at a time through texel views: 600×900 inputs take more
// than one chunk. 300×400 → 518×784: about the head's last upsampling.
const CASES: [number, number, number, number, number][] = [
  [3, 5, 7, 10, 14],
  [2, 40, 56, 70, 98],
  [2, 70, 98, 33, 45],
  [1, 1, 4, 3, 5],
  [2, 6, 5, 1, 1],
  [3, 37, 56, 518, 784],
  [2, 600, 900, 33, 45],
  [3, 300, 400, 518, 784],
];

for (const [c, inH, inW, outH, outW] of CASES) {
  Deno.test(`bilinear align_corners ${c}×${inH}×${inW} → ${outH}×${outW}: forward and adjoint match float64`, async () => {
    const x = randomArray(c * inH * inW, inH);
    const dy = randomArray(c * outH * outW, outW);
    const xt = rt.upload("act/x", [1, c, inH, inW], x);
    const dyt = rt.upload("grads/dy", [1, c, outH, outW], dy);
    const { y, saved } = resizeBilinearForward(rt, xt, [outH, outW], "resize");
    const dx = resizeBilinearBackward(rt, saved, dyt, "resize");
    const ey = relL2(await rt.read(y), bilinearAlignCorners(x, c, inH, inW, outH, outW));
    const edx = relL2(await rt.read(dx), bilinearAlignCornersBackward(dy, c, inH, inW, outH, outW));
    assert(ey < 1e-6 && edx < 1e-6, `y ${ey}, dx ${edx}`);
    rt.free(xt, dyt, y, dx);
  });
}

Deno.test("bilinear adjoint: the planes kernel, at every split, gives the plain kernel's bits", async () => {
  const [c, inH, inW, outH, outW] = [5, 9, 7, 17, 12];
  const dy = randomArray(c * outH * outW, 5);
  // The plain adjoint is what a GPU runs: the same device taken as one.
  const gpu = new Runtime({ ...rt.ctx, isCpu: false });
  const dyt = gpu.upload("grads/dy", [1, c, outH, outW], dy);
  const saved = { inShape: [1, c, inH, inW], size: [outH, outW] as const };
  const plain = resizeBilinearBackward(gpu, saved, dyt, "resize");
  const want = await gpu.read(plain);
  for (const chunk of [1, 2, 5, undefined]) {
    const dx = resizeBilinearBackward(rt, saved, dyt, "resize", undefined, chunk);
    assert.deepEqual(await rt.read(dx), want, `${chunk ?? "the default"} planes an invocation`);
    rt.free(dx);
  }
  assert(relL2(want, bilinearAlignCornersBackward(dy, c, inH, inW, outH, outW)) < 1e-6);
  // An upsampling past its taps (37 → 518 is 14×) is refused, not summed short.
  const far = { inShape: [1, 1, 37, 37], size: [518, 518] as const };
  assert.throws(() => resizeBilinearBackward(rt, far, dyt, "resize", undefined, 1), /reaches past/);
  gpu.free(dyt, plain);
});

// On a CPU adapter the adjoint runs in two passes over chunks of planes read through texel views: the head's
// last upsampling in small (planes of 518², chunks of 3: a last chunk of 1), and odd planes (chunks of 4
// planes, so that every chunk is whole texels), accumulating.
const TWO_PASS: [number, number, number, number, number, boolean][] = [
  [4, 296, 296, 518, 518, false],
  [8, 300, 333, 517, 599, true],
];
for (const [c, inH, inW, outH, outW, accumulate] of TWO_PASS) {
  Deno.test(`bilinear adjoint ${c}×${inH}×${inW} ← ${outH}×${outW} by texel views: the plain kernel's bits`, async () => {
    const dy = randomArray(c * outH * outW, 7);
    const start = randomArray(c * inH * inW, 8);
    const gpu = new Runtime({ ...rt.ctx, isCpu: false });
    const saved = { inShape: [1, c, inH, inW], size: [outH, outW] as const };
    const results = [];
    for (const runtime of [gpu, rt]) {
      const dyt = runtime.upload("grads/dy", [1, c, outH, outW], dy);
      const dx = runtime.upload("grads/dx", [1, c, inH, inW], start);
      resizeBilinearBackward(runtime, saved, dyt, "resize", { dx, accumulate });
      results.push(await runtime.read(dx));
      runtime.free(dyt, dx);
    }
    assertSameBits(results[1], results[0], "two-pass adjoint");
    const want = bilinearAlignCornersBackward(dy, c, inH, inW, outH, outW).map((v, i) =>
      accumulate ? v + start[i] : v
    );
    assert(relL2(results[1], want) < 1e-6);
  });
}

Deno.test("bilinear forward: every split of the planes over invocations gives the same bits", async () => {
  // 4 planes of 63 values: the texel views (a CPU adapter's default) start a chunk every 4th plane.
  const [c, inH, inW, outH, outW] = [4, 9, 7, 17, 12];
  const x = randomArray(c * inH * inW, 4);
  const xt = rt.upload("act/x", [1, c, inH, inW], x);
  const outputs = [];
  for (const chunk of [1, 2, 4, undefined]) {
    const { y } = resizeBilinearForward(rt, xt, [outH, outW], "resize", chunk);
    outputs.push(await rt.read(y));
    rt.free(y);
  }
  for (const other of outputs.slice(1)) assert.deepEqual(other, outputs[0]);
  assert(relL2(outputs[0], bilinearAlignCorners(x, c, inH, inW, outH, outW)) < 1e-6);
  rt.free(xt);
});

Deno.test("bilinear adjoint accumulates into a given gradient; the CPU adjoint is the transpose", async () => {
  const x = randomArray(2 * 4 * 6, 1);
  const dy = randomArray(2 * 9 * 11, 2);
  // ⟨resize(x), dy⟩ = ⟨x, adjoint(dy)⟩ in float64: the reference backward is the forward's transpose.
  const lhs = bilinearAlignCorners(x, 2, 4, 6, 9, 11).reduce((s, v, i) => s + v * dy[i], 0);
  const rhs = bilinearAlignCornersBackward(dy, 2, 4, 6, 9, 11).reduce((s, v, i) => s + v * x[i], 0);
  assert(Math.abs(lhs - rhs) < 1e-12 * Math.abs(lhs));
  const dyt = rt.upload("grads/dy", [2, 9, 11], dy);
  const dx = rt.upload("grads/dx", [2, 4, 6], new Float32Array(48).fill(0.5));
  resizeBilinearBackward(rt, { inShape: [2, 4, 6], size: [9, 11] }, dyt, "r", { dx, accumulate: true });
  const want = bilinearAlignCornersBackward(dy, 2, 4, 6, 9, 11).map((v) => v + 0.5);
  assert(relL2(await rt.read(dx), want) < 1e-6);
  rt.free(dyt, dx);
});
