import assert from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { matmulModel } from "../../bench/onnx_matmul_model.ts";
import { randomArray, relL2 } from "../shared.ts";

Deno.test("the bench's one-node ONNX models compute the three products in onnxruntime-web", async () => {
  const [m, n, k] = [37, 53, 29];
  for (const [transA, transB] of [[false, false], [false, true], [true, false]]) {
    const session = await ort.InferenceSession.create(matmulModel({ m, n, k, transA, transB }));
    const a = randomArray(m * k, 1);
    const b = randomArray(k * n, 2);
    const out = await session.run({
      a: new ort.Tensor("float32", a, transA ? [k, m] : [m, k]),
      b: new ort.Tensor("float32", b, transB ? [n, k] : [k, n]),
    });
    await session.release();
    assert.deepEqual(out.c.dims, [m, n]);
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let q = 0; q < k; q++) {
          sum += a[transA ? q * m + i : i * k + q] * b[transB ? j * k + q : q * n + j];
        }
        want[i * n + j] = sum;
      }
    }
    const err = relL2(out.c.data as Float32Array, want);
    assert(err < 1e-6, `transA ${transA} transB ${transB}: rel_l2 ${err}`);
  }
});
