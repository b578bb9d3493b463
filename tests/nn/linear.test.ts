import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { linearBackward, linearForward } from "../../core/nn/ops/linear.ts";
import { randomArray, relL2 } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";
import * as ref from "./ref/linear.ts";

const rt = await Runtime.create();

Deno.test("linear forward (PyTorch [out, in] weights) matches float64 on odd shapes", async () => {
  for (const [rows, inF, outF] of [[7, 13, 5], [37, 64, 192], [1, 3, 1]]) {
    const xs = randomArray(rows * inF, 1);
    const ws = randomArray(outF * inF, 2);
    const bs = randomArray(outF, 3);
    const x = rt.upload("act/x", [rows, inF], xs);
    const w = { weight: rt.upload("weights/w", [outF, inF], ws), bias: rt.upload("weights/b", [outF], bs) };
    const y = linearForward(rt, x, w, "act/y");
    const rel = relL2(await rt.read(y), ref.linear(xs, ws, bs, inF, outF));
    assert.ok(rel < 1e-6, `${rows}x${inF}->${outF}: rel_l2 ${rel}`);
    rt.free(x, w.weight, w.bias, y);
  }
});

Deno.test("linear backward: float64 finite differences, then GPU vs CPU with accumulation", async () => {
  const [rows, inF, outF] = [6, 11, 7];
  const xs = randomArray(rows * inF, 4);
  const ws = randomArray(outF * inF, 5);
  const bs = randomArray(outF, 6);
  const fd = finiteDifferenceError(
    { x: toF64(xs), weight: toF64(ws), bias: toF64(bs) },
    (i) => ref.linear(i.x, i.weight, i.bias, inF, outF),
    (i, r) => ref.linearBackward(i.x, i.weight, r, inF, outF),
  );
  assert.ok(fd < 1e-8, `finite differences ${fd}`);
  const dys = randomArray(rows * outF, 7);
  const want = ref.linearBackward(xs, ws, dys, inF, outF);
  const x = rt.upload("act/x", [rows, inF], xs);
  const w = { weight: rt.upload("weights/w", [outF, inF], ws), bias: rt.upload("weights/b", [outF], bs) };
  const dy = rt.upload("grads/dy", [rows, outF], dys);
  const grads = { weight: rt.tensor("grads/w", [outF, inF]), bias: rt.tensor("grads/b", [outF]) };
  // Two backward passes accumulate twice the gradient (new buffers are zeroed by WebGPU).
  const dx1 = linearBackward(rt, x, w, dy, grads, "grads/dx")!;
  const dx2 = linearBackward(rt, x, w, dy, grads, "grads/dx2", { dxInto: dx1 });
  assert.equal(dx2, dx1);
  const twice = (a: Float64Array) => a.map((v) => 2 * v);
  const rels = [
    relL2(await rt.read(dx1), twice(want.x)),
    relL2(await rt.read(grads.weight), twice(want.weight)),
    relL2(await rt.read(grads.bias), twice(want.bias)),
  ];
  console.log(
    `linear backward: fd ${fd.toExponential(2)}; rel_l2 dx, dW, db ${rels.map((v) => v.toExponential(2))}`,
  );
  for (const v of rels) assert.ok(v < 1e-6, `rel_l2 ${v}`);
  rt.free(x, w.weight, w.bias, dy, grads.weight, grads.bias, dx1);
});
