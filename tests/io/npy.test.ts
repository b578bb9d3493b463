import assert from "node:assert/strict";
import { join } from "node:path";
import { parseNpy, readNpy, serializeNpy, writeNpy } from "../../core/io/npy.ts";
import { FORMATS_DIR, sharedTest } from "../shared.ts";

const latin1 = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");

Deno.test("the NPY header is byte-identical to numpy's np.save", () => {
  // np.save(f, np.zeros((2, 3), np.float32)) with numpy 1.24 and 2.4: 128-byte header
  const expected = "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
    " ".repeat(58) + "\n";
  const bytes = serializeNpy(new Float32Array(6), [2, 3]);
  assert.deepEqual(latin1(bytes.subarray(0, 128)), expected);
  assert.deepEqual(bytes.length, 128 + 24);
  // the same for a 1-d uint16 and a 0-d float64 array (numpy's "(5,)" and "()" reprs)
  assert.deepEqual(
    latin1(serializeNpy(new Uint16Array(5), [5]).subarray(10, 128)),
    "{'descr': '<u2', 'fortran_order': False, 'shape': (5,), }" + " ".repeat(60) + "\n",
  );
  assert.deepEqual(
    latin1(serializeNpy(new Float64Array(1), []).subarray(10, 128)),
    "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" + " ".repeat(62) + "\n",
  );
});

Deno.test("NPY round-trips values, dtype and shape", async () => {
  const dir = await Deno.makeTempDir();
  const arrays = [
    new Float32Array([1.5, -2, NaN, Infinity, 0, 3]),
    new Uint8Array([0, 1, 255, 7, 8, 9]),
    new Uint16Array([0, 65535, 3, 4, 5, 6]),
    new Int32Array([-1, 2, -3, 4, 2147483647, -2147483648]),
    new Float64Array([Math.PI, 2, 3, 4, 5, 6]),
  ];
  for (const data of arrays) {
    const path = join(dir, `${data.constructor.name}.npy`);
    await writeNpy(path, data, [3, 2]);
    const back = await readNpy(path);
    assert.deepEqual(back.shape, [3, 2]);
    assert.deepEqual(back.data, data);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("NPY refuses Fortran order, object dtypes and truncated files with a clear error", async () => {
  const header = (dict: string) => {
    const text = dict.padEnd(117, " ") + "\n";
    return new Uint8Array([
      0x93,
      ...new TextEncoder().encode("NUMPY"),
      1,
      0,
      118,
      0,
      ...new TextEncoder().encode(text),
    ]);
  };
  assert.throws(
    () => parseNpy(header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"), "f.npy"),
    { name: "TrompeError", code: "unsupported", subject: "f.npy", message: /Fortran/ },
  );
  assert.throws(
    () => parseNpy(header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"), "o.npy"),
    { name: "TrompeError", code: "unsupported", message: /dtype '\|O'/ },
  );
  const good = serializeNpy(new Float32Array(100), [10, 10]);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "cut.npy");
  await Deno.writeFile(path, good.subarray(0, good.length - 4));
  await assert.rejects(() => readNpy(path), { code: "truncated", subject: path, message: /expected 400/ });
  await Deno.remove(dir, { recursive: true });
});

sharedTest("the reference .npy files parse (float32, uint8 and uint16)", async () => {
  const rgb = await readNpy(join(FORMATS_DIR, "truth/hypersim/ai_001_001/frame.0000.rgb.npy"));
  assert.deepEqual([rgb.dtype, rgb.shape], ["|u1", [192, 256, 3]]);
  const planar = await readNpy(join(FORMATS_DIR, "truth/hypersim/ai_001_001/frame.0000.planar_official.npy"));
  assert.deepEqual([planar.dtype, planar.shape], ["<f4", [192, 256]]);
  const cm = await readNpy(join(FORMATS_DIR, "truth/vkitti2/Scene02/fog/Camera_0/depth_00000.cm.npy"));
  assert.deepEqual([cm.dtype, cm.shape], ["<u2", [125, 414]]);
});
