import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { layerScaleBackward, layerScaleForward } from "../../core/nn/ops/layerscale.ts";
import { randomArray, relL2 } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";

const rt = await Runtime.create();
const rows = 9;
const C = 11;

/** Float64 reference: out = x + γ ⊙ branch, and its gradients. */
function forward(x: ArrayLike<number>, branch: ArrayLike<number>, gamma: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v + gamma[i % C] * branch[i]);
}

function backward(branch: ArrayLike<number>, gamma: ArrayLike<number>, dOut: ArrayLike<number>) {
  const dGamma = new Float64Array(C);
  for (let i = 0; i < dOut.length; i++) dGamma[i % C] += dOut[i] * branch[i];
  return {
    x: Float64Array.from(dOut),
    branch: Float64Array.from(dOut, (d, i) => d * gamma[i % C]),
    gamma: dGamma,
  };
}

Deno.test("LayerScale residual: forward, FD-checked backward, GPU vs CPU", async () => {
  const xs = randomArray(rows * C, 1);
  const bs = randomArray(rows * C, 2);
  const gs = randomArray(C, 3);
  const fd = finiteDifferenceError(
    { x: toF64(xs), branch: toF64(bs), gamma: toF64(gs) },
    (i) => forward(i.x, i.branch, i.gamma),
    (i, r) => backward(i.branch, i.gamma, r),
  );
  assert.ok(fd < 1e-9, `finite differences ${fd}`);
  const x = rt.upload("act/x", [rows, C], xs);
  const branch = rt.upload("act/branch", [rows, C], bs);
  const gamma = rt.upload("weights/gamma", [C], gs);
  const out = layerScaleForward(rt, x, branch, gamma, "act/out");
  const relF = relL2(await rt.read(out), forward(xs, bs, gs));
  const dOuts = randomArray(rows * C, 4);
  const want = backward(bs, gs, dOuts);
  const dOut = rt.upload("grads/dout", [rows, C], dOuts);
  const dGamma = rt.tensor("grads/gamma", [C]);
  const dBranch = layerScaleBackward(rt, branch, gamma, dOut, dGamma, "grads/dbranch");
  const rels = [relL2(await rt.read(dBranch), want.branch), relL2(await rt.read(dGamma), want.gamma)];
  console.log(
    `layerscale: fd ${fd.toExponential(2)}, forward ${relF.toExponential(2)}, dbranch/dgamma ${
      rels.map((v) => v.toExponential(2))
    }`,
  );
  for (const v of [relF, ...rels]) assert.ok(v < 1e-6, `rel_l2 ${v}`);
  rt.free(x, branch, gamma, out, dOut, dGamma, dBranch);
});
