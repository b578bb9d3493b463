import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { convTranspose2dBackward, convTranspose2dForward } from "../../core/nn/ops/conv_transpose.ts";
import { randomArray, relL2 } from "../shared.ts";
import {
  convTranspose2dBackwardRef,
  convTranspose2dRef,
  finiteDifference,
  type TGeom,
  tOutSize,
} from "./ref/dpt_conv.ts";

const rt = await Runtime.create();

// The head's 4×4/s4 and 2×2/s2, plus a kernel that overlaps (3×3/s2, padding 1), where phases differ in taps.
const CASES: TGeom[] = [
  { batch: 1, cin: 8, h: 5, w: 7, cout: 8, k: 4, stride: 4, pad: 0 },
  { batch: 2, cin: 6, h: 3, w: 4, cout: 5, k: 2, stride: 2, pad: 0 },
  { batch: 1, cin: 4, h: 4, w: 5, cout: 3, k: 3, stride: 2, pad: 1 },
];

for (const c of CASES) {
  Deno.test(`convTranspose2d ${c.k}×${c.k}/s${c.stride} p${c.pad} ${c.batch}×${c.cin}×${c.h}×${c.w} → ${c.cout}: forward and backward match float64`, async () => {
    const [oh, ow] = tOutSize(c);
    const x = randomArray(c.batch * c.cin * c.h * c.w, 1);
    const w = randomArray(c.cin * c.cout * c.k * c.k, 2);
    const b = randomArray(c.cout, 3);
    const dy = randomArray(c.batch * c.cout * oh * ow, 4);
    const xt = rt.upload("act/x", [c.batch, c.cin, c.h, c.w], x);
    const wt = rt.upload("weights/w", [c.cin, c.cout, c.k, c.k], w);
    const bt = rt.upload("weights/b", [c.cout], b);
    const dyt = rt.upload("grads/dy", [c.batch, c.cout, oh, ow], dy);
    const dw = rt.tensor("grads/w", [c.cin, c.cout, c.k, c.k]);
    const db = rt.tensor("grads/b", [c.cout]);
    const weights = { weight: wt, bias: bt };
    const { y, saved } = convTranspose2dForward(rt, xt, weights, "up", { stride: c.stride, pad: c.pad });
    assert.deepEqual(y.shape, [c.batch, c.cout, oh, ow]);
    const dx = convTranspose2dBackward(rt, saved, weights, dyt, { weight: dw, bias: db, input: true }, "up")!;
    const ref = convTranspose2dBackwardRef(x, w, dy, c);
    const errors = {
      y: relL2(await rt.read(y), convTranspose2dRef(x, w, b, c)),
      dx: relL2(await rt.read(dx), ref.dx),
      dw: relL2(await rt.read(dw), ref.dw),
      db: relL2(await rt.read(db), ref.db),
    };
    for (const [k, e] of Object.entries(errors)) assert(e < 1e-6, `${k} rel_l2 ${e}`);
    rt.free(xt, wt, bt, dyt, dw, db, y, dx);
  });
}

Deno.test("convTranspose2d float64 reference: backward equals finite differences", () => {
  const g: TGeom = { batch: 2, cin: 3, h: 3, w: 4, cout: 2, k: 3, stride: 2, pad: 1 };
  const [oh, ow] = tOutSize(g);
  const x = Float64Array.from(randomArray(2 * 3 * 12, 5));
  const w = Float64Array.from(randomArray(3 * 2 * 9, 6));
  const b = Float64Array.from(randomArray(2, 7));
  const dy = randomArray(2 * 2 * oh * ow, 8);
  const grads = convTranspose2dBackwardRef(x, w, dy, g);
  const forward = () => convTranspose2dRef(x, w, b, g);
  for (const [param, grad] of [[x, grads.dx], [w, grads.dw], [b, grads.db]] as const) {
    for (const { index, fd } of finiteDifference(param, dy, forward)) {
      assert(Math.abs(fd - grad[index]) < 1e-7 * Math.max(1, Math.abs(fd)), `${fd} vs ${grad[index]}`);
    }
  }
});
