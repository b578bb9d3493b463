import assert from "node:assert/strict";
import { join } from "node:path";
import {
  listVkitti2Frames,
  metresToCentimetres,
  parseIntrinsics,
  readVkitti2Centimetres,
  readVkitti2Sample,
  writeVkitti2Depth,
} from "../../core/data/vkitti2.ts";
import { readNpy } from "../../core/io/npy.ts";
import { writePng } from "../../core/io/png.ts";
import { FORMATS_DIR, sharedTest } from "../shared.ts";

const ROOT = join(FORMATS_DIR, "vkitti2");

sharedTest(
  "every vKITTI2 frame reads: exact centimetres, metres = cm/100, valid ≤ 80 m and never sky",
  async () => {
    const { frames, problems } = await listVkitti2Frames(ROOT);
    assert.deepEqual(problems, []);
    assert.equal(frames.length, 8);
    for (const frame of frames) {
      const sample = await readVkitti2Sample(frame);
      const truth = await readNpy(
        join(
          FORMATS_DIR,
          "truth/vkitti2",
          frame.scene,
          frame.variation,
          `Camera_${frame.camera}`,
          `depth_${frame.frame}.cm.npy`,
        ),
      );
      const cm = truth.data as Uint16Array;
      assert.deepEqual([sample.height, sample.width], truth.shape);
      assert.deepEqual((await readVkitti2Centimetres(frame.depthPath)).cm, cm);
      let sky = 0;
      for (let i = 0; i < cm.length; i++) {
        assert.equal(sample.depth[i], Math.fround(cm[i] / 100));
        assert.equal(sample.valid[i], cm[i] !== 65535 && cm[i] / 100 <= 80 ? 1 : 0);
        if (cm[i] === 65535) sky++;
      }
      assert.ok(sky > 0 && sky < cm.length, "the reference frames have some sky");
      assert.deepEqual(metresToCentimetres(sample.depth), cm, "metres back to centimetres is lossless");
      if (frame.scene === "Scene01") {
        assert.deepEqual(sample.intrinsics, { fx: 725.009, fy: 725.009, cx: 620.5, cy: 187 });
      }
    }
  },
);

Deno.test("maxDepth narrows the valid mask; writeVkitti2Depth writes 65535 for no depth", async () => {
  const dir = await Deno.makeTempDir();
  const base = join(dir, "Scene07/clone");
  await Deno.mkdir(join(base, "frames/rgb/Camera_0"), { recursive: true });
  await Deno.writeTextFile(
    join(base, "intrinsic.txt"),
    "frame cameraID K[0,0] K[1,1] K[0,2] K[1,2]\n0 0 10 11 1.5 0.5\n",
  );
  await writePng(join(base, "frames/rgb/Camera_0/rgb_00000.jpg"), {
    width: 4,
    height: 1,
    channels: 3,
    data: new Uint8Array(12),
  });
  await writeVkitti2Depth(
    join(base, "frames/depth/Camera_0/depth_00000.png"),
    new Float32Array([1.234, 50, 90, NaN]),
    4,
    1,
  );
  const { frames } = await listVkitti2Frames(dir);
  const sample = await readVkitti2Sample(frames[0], { maxDepth: 60 });
  assert.deepEqual(Array.from(sample.depth), [1.23, 50, 90, 655.35].map(Math.fround));
  assert.deepEqual(Array.from(sample.valid), [1, 1, 0, 0]);
  assert.deepEqual(sample.intrinsics, { fx: 10, fy: 11, cx: 1.5, cy: 0.5 });
  assert.equal(sample.id, "Scene07/clone/Camera_0/00000");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("metres to centimetres: 0 cm stays a depth; only NaN, negative and out-of-range depths become sky", () => {
  const metres = new Float32Array([0, 0.004, -0.004, 0.01, 1.234, 655.34, 655.35, 700, -1, Infinity, NaN]);
  assert.deepEqual(
    Array.from(metresToCentimetres(metres)),
    [0, 0, 0, 1, 123, 65534, 65535, 65535, 65535, 65535, 65535],
  );
});

Deno.test("parseIntrinsics names the file and line of a bad row", () => {
  const text = "frame cameraID K[0,0] K[1,1] K[0,2] K[1,2]\n0 0 725 725 620.5 187\n1 0 725 oops\n";
  assert.throws(() => parseIntrinsics(text, "intrinsic.txt"), {
    subject: "intrinsic.txt",
    message: /line 3/,
  });
  assert.deepEqual(parseIntrinsics(text.split("\n").slice(0, 2).join("\n"), "x").get("0 0"), {
    fx: 725,
    fy: 725,
    cx: 620.5,
    cy: 187,
  });
});
