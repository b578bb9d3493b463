import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeDepthHdf5, parseHdf5Dataset, readHdf5Dataset, writeDepthHdf5 } from "../../core/io/hdf5.ts";
import { DATA_DIR, FORMATS_DIR, sharedDataTest, sharedTest } from "../shared.ts";

function depthRamp(height: number, width: number): Float32Array {
  const data = new Float32Array(height * width);
  for (let i = 0; i < data.length; i++) data[i] = 0.5 + (i % 977) * 0.01;
  data[3] = NaN; // Hypersim marks rays that hit nothing with NaN
  return data;
}

Deno.test("float16 depth HDF5 written by trompe reads back as float16 with the same values", async () => {
  const [height, width] = [50, 300]; // 300 is not a multiple of the 128-wide chunks
  const data = depthRamp(height, width);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "frame.0000.depth_meters.hdf5");
  await writeDepthHdf5(path, data, height, width);
  const back = await readHdf5Dataset(path);
  assert.equal(back.dtype, "f16");
  assert.deepEqual(back.shape, [height, width]);
  assert.deepEqual(Float32Array.from(back.data as Float16Array), Float32Array.from(Float16Array.from(data)));
  assert.deepEqual([...Deno.readDirSync(dir)].length, 1, "no temporary file left behind");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("float32 depth HDF5 round-trips exactly; gzip level 0 and 9 both read", async () => {
  const data = depthRamp(7, 9);
  for (const gzip of [0, 9]) {
    const back = await parseHdf5Dataset(await encodeDepthHdf5(data, 7, 9, { dtype: "f32", gzip }), "mem.h5");
    assert.equal(back.dtype, "f32");
    assert.deepEqual(back.data, data);
  }
  await assert.rejects(() => encodeDepthHdf5(data, 8, 9), { code: "shape-mismatch" });
});

Deno.test("the same depth encodes to the same bytes at a later second (no modification time)", async () => {
  const data = depthRamp(50, 300);
  for (const dtype of ["f16", "f32"] as const) {
    const first = await encodeDepthHdf5(data, 50, 300, { dtype });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // libhdf5 stamps whole seconds
    const second = await encodeDepthHdf5(data, 50, 300, { dtype });
    assert.deepEqual(second, first, `${dtype}: bytes differ`);
    const back = await parseHdf5Dataset(second, "mem.h5");
    assert.deepEqual(
      Float32Array.from(back.data as Float16Array | Float32Array),
      dtype === "f16" ? Float32Array.from(Float16Array.from(data)) : data,
    );
  }
});

Deno.test("a truncated HDF5 file is a TrompeError naming it", async () => {
  const bytes = await encodeDepthHdf5(depthRamp(64, 64), 64, 64);
  const dir = await Deno.makeTempDir();
  for (const length of [4, 600, bytes.length - 40]) {
    const path = join(dir, `cut-${length}.hdf5`);
    await Deno.writeFile(path, bytes.subarray(0, length));
    await assert.rejects(() => readHdf5Dataset(path), {
      name: "TrompeError",
      code: "corrupt",
      subject: path,
    });
  }
  await Deno.remove(dir, { recursive: true });
});

sharedDataTest(
  "the real Hypersim depth file reads as float16 768×1024 with its documented values",
  async () => {
    const depth = await readHdf5Dataset(join(DATA_DIR, "hypersim/frame.0000.depth_meters.hdf5"));
    assert.equal(depth.dtype, "f16");
    assert.deepEqual(depth.shape, [768, 1024]);
    const d = depth.data as Float16Array;
    assert.equal(d[0], 6.29296875);
    assert.equal(d[384 * 1024 + 512], 7.8828125);
    assert.equal(d[767 * 1024 + 1023], 3.283203125);
    let [min, max, sum, nan] = [Infinity, -Infinity, 0, 0];
    for (const v of d) {
      if (Number.isNaN(v)) nan++;
      else [min, max, sum] = [Math.min(min, v), Math.max(max, v), sum + v];
    }
    assert.deepEqual([min, max, nan], [2.9609375, 13.234375, 0]);
    assert.ok(Math.abs(sum / d.length - 5.958455) < 1e-6);
  },
);

sharedTest("Hypersim colour and entity-id files read with their types", async () => {
  const images = join(FORMATS_DIR, "hypersim/ai_037_002/images");
  const color = await readHdf5Dataset(join(images, "scene_cam_00_final_hdf5/frame.0000.color.hdf5"));
  assert.deepEqual([color.dtype, color.shape], ["f16", [192, 256, 3]]);
  const ids = await readHdf5Dataset(
    join(images, "scene_cam_00_geometry_hdf5/frame.0000.render_entity_id.hdf5"),
  );
  assert.deepEqual([ids.dtype, ids.shape], ["i32", [192, 256]]);
  assert.ok((ids.data as Int32Array).includes(-1), "the window has no surface: entity id −1");
});
