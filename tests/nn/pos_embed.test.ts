import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { posEmbedBackward, posEmbedForward } from "../../core/nn/ops/pos_embed.ts";
import { randomArray, relL2 } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";
import * as ref from "./ref/pos_embed.ts";

const rt = await Runtime.create();
const GRID = 5;
const C = 7;
const values = randomArray((1 + GRID * GRID) * C, 1);

// Down (3×4, the tiny-a direction), up and non-square (6×8, tiny-b's), and the kept grid (5×5).
for (const [h, w] of [[3, 4], [6, 8], [5, 5]]) {
  Deno.test(`pos_embed ${GRID}x${GRID} -> ${h}x${w}: forward and backward vs float64, FD on the reference`, async () => {
    const fd = finiteDifferenceError(
      { pos: toF64(values) },
      (i) => ref.posEmbed(i.pos, C, h, w),
      (_, r) => ({ pos: ref.posEmbedBackward(r, C, GRID, h, w) }),
    );
    assert.ok(fd < 1e-8, `finite differences ${fd}`);
    const pos = rt.upload("weights/pos_embed", [1, 1 + GRID * GRID, C], values);
    const out = posEmbedForward(rt, pos, h, w, "act/pos");
    const got = await rt.read(out);
    const rel = relL2(got, ref.posEmbed(values, C, h, w));
    const dOut = randomArray((1 + h * w) * C, 2);
    const grad = rt.upload("grads/pos_embed", pos.shape, new Float32Array(pos.size).fill(0.5));
    const dPos = rt.upload("grads/dpos", out.shape, dOut);
    posEmbedBackward(rt, pos, dPos, grad, h, w);
    const relGrad = relL2(await rt.read(grad), ref.posEmbedBackward(dOut, C, GRID, h, w).map((v) => v + 0.5));
    console.log(
      `pos_embed -> ${h}x${w}: fd ${fd.toExponential(2)}, forward ${rel.toExponential(2)}, backward(+acc) ${
        relGrad.toExponential(2)
      }`,
    );
    assert.ok(rel < 1e-6 && relGrad < 1e-6, `${rel} ${relGrad}`);
    if (h === GRID && w === GRID) assert.deepEqual(got, values, "a kept grid must be reproduced bit for bit");
    rt.free(pos, out, grad, dPos);
  });
}
