import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { assembleTokensBackward, assembleTokensForward } from "../../core/nn/ops/tokens.ts";
import { randomArray } from "../shared.ts";

const rt = await Runtime.create();

Deno.test("tokens: [cls; patches] + pos per batch item, and the batch-summed backward", async () => {
  const [B, N, C] = [2, 3, 4];
  const ps = randomArray(B * N * C, 1);
  const cs = randomArray(C, 2);
  const pos = randomArray((1 + N) * C, 3);
  const patches = rt.upload("act/patches", [B, N, C], ps);
  const cls = rt.upload("weights/cls", [1, 1, C], cs);
  const posT = rt.upload("act/pos", [1 + N, C], pos);
  const x0 = await rt.read(assembleTokensForward(rt, patches, cls, posT, "act/x0"));
  for (let b = 0; b < B; b++) {
    for (let t = 0; t <= N; t++) {
      for (let c = 0; c < C; c++) {
        const src = t === 0 ? cs[c] : ps[(b * N + t - 1) * C + c];
        assert.equal(x0[(b * (N + 1) + t) * C + c], Math.fround(src + pos[t * C + c]));
      }
    }
  }
  const dx = randomArray(B * (1 + N) * C, 4);
  const dCls = rt.tensor("grads/cls", [1, 1, C]);
  const { dPos, dPatches } = assembleTokensBackward(
    rt,
    rt.upload("grads/dx0", [B, 1 + N, C], dx),
    dCls,
    "grads/tokens",
  );
  const pos0 = await rt.read(dPos);
  const expectPos = Float32Array.from(pos0, (_, i) => Math.fround(dx[i] + dx[(1 + N) * C + i]));
  assert.deepEqual(pos0, expectPos);
  assert.deepEqual(await rt.read(dCls), expectPos.slice(0, C));
  const dp = await rt.read(dPatches);
  for (let b = 0; b < B; b++) {
    assert.deepEqual(
      dp.slice(b * N * C, (b + 1) * N * C),
      dx.slice((b * (N + 1) + 1) * C, (b + 1) * (N + 1) * C),
    );
  }
});
