/**
 * The position-embedding resize (forward on the GPU, and its gradient) against the float64 reference in
 * ref/pos_embed.ts — PyTorch's bicubic written plainly, independent of trompe's resize code — on grids and
 * patch shapes beyond the two goldens: down, up, one axis each way, 1×1, square but resized (same side,
 * other count), and kept; the reference itself is held to PyTorch's dbg/pos_embed of tiny-a and tiny-b.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { posEmbedBackward, posEmbedForward } from "../../core/nn/ops/pos_embed.ts";
import { randomArray, REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";
import * as ref from "./ref/pos_embed.ts";

const rt = await Runtime.create();

const CASES: [number, number, number][] = [
  // [grid, h, w]: down (tiny-a's direction), up and non-square (tiny-b's), kept, 1×1, one axis up and the
  // other down, square with another count (resized although square), one column more than kept.
  [5, 3, 4],
  [5, 6, 8],
  [5, 5, 5],
  [5, 1, 1],
  [5, 2, 9],
  [5, 9, 2],
  [5, 4, 4],
  [5, 10, 10],
  [5, 5, 6],
  [16, 8, 11],
  [16, 16, 16],
  [16, 16, 17],
  [16, 37, 20],
];

for (const [GRID, h, w] of CASES) {
  const C = GRID === 5 ? 7 : 3;
  const values = randomArray((1 + GRID * GRID) * C, GRID + h + w);
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
      `pos_embed ${GRID}x${GRID} -> ${h}x${w}: fd ${fd.toExponential(2)}, forward ${
        rel.toExponential(2)
      }, backward(+acc) ${relGrad.toExponential(2)}`,
    );
    // Measured worst (2026-12-06): forward 7.40e-8, backward 8.22e-8.
    assert.ok(rel < 3e-7 && relGrad < 3e-7, `${rel} ${relGrad}`);
    if (h === GRID && w === GRID) assert.deepEqual(got, values, "a kept grid must be reproduced bit for bit");
    rt.free(pos, out, grad, dPos);
  });
}

// The reference against PyTorch itself: the goldens' interpolated pos_embed (computed in float32 by the
// official code, README §4 and §6: 1.7e-6 between PyTorch versions).
for (const model of ["tiny-a", "tiny-b"]) {
  sharedTest(`the float64 pos_embed reference reproduces PyTorch's dbg/pos_embed of ${model}`, async () => {
    const dir = join(REFERENCE_DIR, model);
    const weights = await readSafetensors(join(dir, "weights.safetensors"));
    const golden = await readSafetensors(join(dir, "golden.safetensors"));
    const [, , h14, w14] = golden.shape("input");
    const [, , channels] = weights.shape("pretrained.pos_embed");
    const got = ref.posEmbed(weights.float64("pretrained.pos_embed"), channels, h14 / 14, w14 / 14);
    const rel = relL2(got, golden.float64("dbg/pos_embed"));
    console.log(`${model}: reference vs PyTorch's dbg/pos_embed rel_l2 ${rel.toExponential(2)}`);
    assert.ok(rel <= 5e-6, `${rel}`);
  });
}
