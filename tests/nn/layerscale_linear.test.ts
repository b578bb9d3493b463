import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import type { Tensor } from "../../core/gpu/tensor.ts";
import { layerScaleLinearBackward } from "../../core/nn/ops/layerscale_linear.ts";
import { randomArray, relL2 } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";

const device = await Runtime.create();
// Both kernel sets, whatever the device is: the products pick theirs by `isCpu`.
const runtimes = [
  { name: "CPU-adapter kernels", rt: new Runtime({ ...device.ctx, isCpu: true }) },
  { name: "GPU kernels", rt: new Runtime({ ...device.ctx, isCpu: false }) },
];
const rows = 13;
const inF = 10;
const outF = 7;

/** Float64 reference: out = x + γ ⊙ (u·Wᵀ + b) for u [rows, inF], W [outF, inF]; x passes through. */
function forward(u: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, gamma: ArrayLike<number>) {
  const out = new Float64Array(rows * outF);
  for (let t = 0; t < rows; t++) {
    for (let c = 0; c < outF; c++) {
      let s = b[c];
      for (let j = 0; j < inF; j++) s += u[t * inF + j] * w[c * inF + j];
      out[t * outF + c] = gamma[c] * s;
    }
  }
  return out;
}

/** Autograd's gradients of `forward`: du, dW, db, dγ. */
function backward(
  u: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  gamma: ArrayLike<number>,
  dOut: ArrayLike<number>,
) {
  const branch = forward(u, w, b, Float64Array.from(gamma, () => 1));
  const du = new Float64Array(rows * inF);
  const dw = new Float64Array(outF * inF);
  const db = new Float64Array(outF);
  const dGamma = new Float64Array(outF);
  for (let t = 0; t < rows; t++) {
    for (let c = 0; c < outF; c++) {
      const d = dOut[t * outF + c];
      dGamma[c] += d * branch[t * outF + c];
      const dm = d * gamma[c];
      db[c] += dm;
      for (let j = 0; j < inF; j++) {
        du[t * inF + j] += dm * w[c * inF + j];
        dw[c * inF + j] += dm * u[t * inF + j];
      }
    }
  }
  return { u: du, w: dw, b: db, gamma: dGamma };
}

const us = randomArray(rows * inF, 1);
const ws = randomArray(outF * inF, 2);
const bs = randomArray(outF, 3);
const gs = randomArray(outF, 4);
const dOuts = randomArray(rows * outF, 5);
// What the gradient buffers held before: the op adds into them.
const before = { w: randomArray(outF * inF, 6), b: randomArray(outF, 7), gamma: randomArray(outF, 8) };

Deno.test("layerscale over linear: the float64 reference is autograd's (finite differences)", () => {
  const fd = finiteDifferenceError(
    { u: toF64(us), w: toF64(ws), b: toF64(bs), gamma: toF64(gs) },
    (i) => forward(i.u, i.w, i.b, i.gamma),
    (i, r) => backward(i.u, i.w, i.b, i.gamma, r),
  );
  assert.ok(fd < 1e-9, `finite differences ${fd}`);
});

for (const { name, rt } of runtimes) {
  for (
    const c of [
      { trains: "W, b and γ", linear: true, gamma: true, bias: true },
      { trains: "W and b (γ frozen)", linear: true, gamma: false, bias: true },
      { trains: "γ (W, b frozen)", linear: false, gamma: true, bias: true },
      { trains: "W and γ, no bias", linear: true, gamma: true, bias: false },
    ]
  ) {
    Deno.test(`layerscale over linear on the ${name}, ${c.trains}: du, dW, db, dγ added to the float64 ones`, async () => {
      const zeros = new Float32Array(outF);
      const want = backward(us, ws, c.bias ? bs : zeros, gs, dOuts);
      const u = rt.upload("act/u", [rows, inF], us);
      const w = rt.upload("weights/w", [outF, inF], ws);
      const b = c.bias ? rt.upload("weights/b", [outF], bs) : undefined;
      const gamma = rt.upload("weights/gamma", [outF], gs);
      const dOut = rt.upload("grads/dout", [rows, outF], dOuts);
      const dw = rt.upload("grads/w", [outF, inF], before.w);
      const db = c.bias ? rt.upload("grads/b", [outF], before.b) : undefined;
      const dGamma = rt.upload("grads/gamma", [outF], before.gamma);
      const du = layerScaleLinearBackward(
        rt,
        u,
        { weight: w, bias: b },
        gamma,
        dOut,
        { linear: c.linear ? { weight: dw, bias: db } : undefined, gamma: c.gamma ? dGamma : undefined },
        "grads/du",
      );
      const plus = (a: Float32Array, d: Float64Array) => Float64Array.from(a, (v, i) => v + d[i]);
      const checks: [string, Tensor, ArrayLike<number>][] = [
        ["du", du, want.u],
        ["dW", dw, c.linear ? plus(before.w, want.w) : before.w],
        ["dγ", dGamma, c.gamma ? plus(before.gamma, want.gamma) : before.gamma],
      ];
      if (db) checks.push(["db", db, c.linear ? plus(before.b, want.b) : before.b]);
      for (const [what, t, expected] of checks) {
        const rel = relL2(await rt.read(t), expected);
        assert.ok(rel < 1e-6, `${what}: rel_l2 ${rel}`);
      }
      rt.free(...[u, w, gamma, dOut, dw, dGamma, du, ...(b ? [b] : []), ...(db ? [db] : [])]);
    });
  }
}
