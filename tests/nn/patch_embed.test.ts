import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { patchEmbedBackward, patchEmbedForward } from "../../core/nn/ops/patch_embed.ts";
import { randomArray, relL2 } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";
import * as ref from "./ref/patch_embed.ts";

const rt = await Runtime.create();
// 3×3 patches on a 6×9 image (2×3 patches), batch 2, 5 channels: every index of the layout is exercised.
const s = { batch: 2, height: 6, width: 9, patch: 3, channels: 5 };
const wShape = [s.channels, 3, s.patch, s.patch];
const images = randomArray(s.batch * 3 * s.height * s.width, 1);
const ws = randomArray(s.channels * 27, 2);
const bs = randomArray(s.channels, 3);

Deno.test("patch embedding (im2col + matmul) matches a float64 direct convolution", async () => {
  const image = rt.upload("act/image", [s.batch, 3, s.height, s.width], images);
  const w = { weight: rt.upload("weights/w", wShape, ws), bias: rt.upload("weights/b", [s.channels], bs) };
  const { y, saved } = patchEmbedForward(rt, image, w, "act/patches");
  assert.deepEqual(y.shape, [2, 6, 5]);
  const rel = relL2(await rt.read(y), ref.patchEmbed(images, ws, bs, s));
  console.log(`patch_embed forward rel_l2 ${rel.toExponential(2)}`);
  assert.ok(rel < 1e-6, `rel_l2 ${rel}`);
  rt.free(image, w.weight, w.bias!, y, saved.cols);
});

Deno.test("patch embedding backward: float64 finite differences, then GPU vs CPU (dW, db)", async () => {
  const fd = finiteDifferenceError(
    { weight: toF64(ws), bias: toF64(bs) },
    (i) => ref.patchEmbed(images, i.weight, i.bias, s),
    (_, r) => ref.patchEmbedBackward(images, r, s),
  );
  assert.ok(fd < 1e-8, `finite differences ${fd}`);
  const dys = randomArray(s.batch * 6 * s.channels, 4);
  const want = ref.patchEmbedBackward(images, dys, s);
  const image = rt.upload("act/image", [s.batch, 3, s.height, s.width], images);
  const w = { weight: rt.upload("weights/w", wShape, ws), bias: rt.upload("weights/b", [s.channels], bs) };
  const { y, saved } = patchEmbedForward(rt, image, w, "act/patches");
  const dy = rt.upload("grads/dy", y.shape, dys);
  const grads = { weight: rt.tensor("grads/w", wShape), bias: rt.tensor("grads/b", [s.channels]) };
  patchEmbedBackward(rt, saved, w, dy, grads, "grads/patch_embed");
  const rels = [relL2(await rt.read(grads.weight), want.weight), relL2(await rt.read(grads.bias), want.bias)];
  console.log(
    `patch_embed backward: fd ${fd.toExponential(2)}; rel_l2 dW ${rels[0].toExponential(2)}, db ${
      rels[1].toExponential(2)
    }`,
  );
  for (const v of rels) assert.ok(v < 1e-6, `rel_l2 ${v}`);
  rt.free(image, w.weight, w.bias!, y, saved.cols, dy, grads.weight, grads.bias);
});
