import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { swigluBackward, swigluForward } from "../../core/nn/ops/swiglu.ts";
import { randomArray, relL2 } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";

const rt = await Runtime.create();
const rows = 5;
const H = 7;

/** Float64 reference of SwiGLUFFNFused's gate on x [rows, 2H]: silu(a)·b, and its backward. */
function swiglu(x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows * H);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < H; j++) {
      const a = x[r * 2 * H + j];
      y[r * H + j] = (a / (1 + Math.exp(-a))) * x[r * 2 * H + H + j];
    }
  }
  return y;
}

function swigluBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(rows * 2 * H);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < H; j++) {
      const a = x[r * 2 * H + j];
      const s = 1 / (1 + Math.exp(-a));
      dx[r * 2 * H + j] = dy[r * H + j] * x[r * 2 * H + H + j] * s * (1 + a * (1 - s));
      dx[r * 2 * H + H + j] = dy[r * H + j] * a * s;
    }
  }
  return dx;
}

Deno.test("SwiGLU gate (ViT-g): forward, FD-checked backward, GPU vs CPU", async () => {
  const xs = randomArray(rows * 2 * H, 1).map((v) => 3 * v);
  const fd = finiteDifferenceError(
    { x: toF64(xs) },
    (i) => swiglu(i.x),
    (i, r) => ({ x: swigluBackwardRef(i.x, r) }),
  );
  assert.ok(fd < 1e-8, `finite differences ${fd}`);
  const x = rt.upload("act/x", [rows, 2 * H], xs);
  const y = swigluForward(rt, x, "act/y");
  const dys = randomArray(rows * H, 2);
  const dy = rt.upload("grads/dy", [rows, H], dys);
  const dx = swigluBackward(rt, x, dy, "grads/dx");
  const rels = [relL2(await rt.read(y), swiglu(xs)), relL2(await rt.read(dx), swigluBackwardRef(xs, dys))];
  console.log(
    `swiglu: fd ${fd.toExponential(2)}, forward ${rels[0].toExponential(2)}, backward ${
      rels[1].toExponential(2)
    }`,
  );
  for (const v of rels) assert.ok(v < 1e-6, `rel_l2 ${v}`);
  rt.free(x, y, dy, dx);
});
