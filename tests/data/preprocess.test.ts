import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../core/io/safetensors.ts";
import type { RasterU8 } from "../../core/io/raster.ts";
import { image2tensor, inputSizeFor } from "../../core/data/preprocess.ts";
import { nearestIndicesOpenCV, resizeCubicOpenCV } from "../../core/data/resize.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

Deno.test("inputSizeFor follows the official lower-bound, multiple-of-14 rule", () => {
  // 131x97 at 70: scale 70/97, width 94.54 -> 6.75 patches -> round 7 -> 98.
  assert.deepEqual(inputSizeFor(131, 97, 70), { width: 98, height: 70 });
  assert.deepEqual(inputSizeFor(120, 90, 112), { width: 154, height: 112 });
  assert.deepEqual(inputSizeFor(720, 480, 518), { width: 784, height: 518 });
  // Square stays square; a side that would round below the minimum is ceiled instead.
  assert.deepEqual(inputSizeFor(518, 518), { width: 518, height: 518 });
  assert.deepEqual(inputSizeFor(100, 100, 20), { width: 28, height: 28 });
  // 10.5 patches rounds half to even (10) -> 140, which is below 147 -> ceil to 11 patches = 154.
  assert.deepEqual(inputSizeFor(147, 147, 147), { width: 154, height: 154 });
  // Round half to even on a non-minimum side: 2.5 patches of the long side -> 2 (numpy), not 3.
  assert.deepEqual(inputSizeFor(35, 14, 14), { width: 28, height: 14 });
});

Deno.test("cubic resize keeps constants and reproduces an identity size", () => {
  const src = new Float64Array(5 * 4 * 2).map((_, i) => (i % 2 === 0 ? 0.25 : 0.75));
  const up = resizeCubicOpenCV(src, 5, 4, 2, 13, 9);
  // The float32 weights sum to 1 only up to float32 rounding.
  for (let i = 0; i < up.length; i++) assert.ok(Math.abs(up[i] - (i % 2 === 0 ? 0.25 : 0.75)) < 1e-7);
  const ramp = new Float64Array(6 * 3).map((_, i) => i * 0.1);
  assert.deepEqual(Array.from(resizeCubicOpenCV(ramp, 6, 3, 1, 6, 3)), Array.from(ramp));
});

Deno.test("nearest indices are floor(d * src/dst), clamped", () => {
  assert.deepEqual(Array.from(nearestIndicesOpenCV(5, 8)), [0, 0, 1, 1, 2, 3, 3, 4]);
  assert.deepEqual(Array.from(nearestIndicesOpenCV(8, 3)), [0, 2, 5]);
});

for (const model of ["tiny-a", "tiny-b", "vits"]) {
  sharedTest(`image2tensor equals the official input (${model})`, async () => {
    const dir = join(REFERENCE_DIR, model);
    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    const golden = await readSafetensors(join(dir, "golden.safetensors"));
    const [h, w] = golden.shape("image_rgb_u8");
    const rgb: RasterU8 = {
      width: w,
      height: h,
      channels: 3,
      data: golden.raw("image_rgb_u8") as Uint8Array,
    };
    const got = image2tensor(rgb, config.inputSize);
    assert.deepEqual(got.shape, golden.shape("input"));
    const want = golden.float32("input");
    let maxAbs = 0;
    for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got.data[i] - want[i]));
    const rel = relL2(got.data, want);
    console.log(`${model}: max abs ${maxAbs.toExponential(2)}, rel_l2 ${rel.toExponential(2)}`);
    assert.ok(maxAbs <= 1e-6, `max abs ${maxAbs}`);
  });
}
