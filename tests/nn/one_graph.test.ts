/**
 * One model graph: the inference forward (DepthAnythingV2, core/nn/model/vit.ts) and the training graph's
 * forward (core/train/model_backward.ts) compose the same stages, so they give the same depth bit for bit —
 * with and without block checkpointing, at batch 1 and 2, with the CPU-adapter kernels and the GPU ones. A
 * change to one mode that forks the model fails here.
 */
import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { parseConfig } from "../../core/nn/model/config.ts";
import { DepthAnythingV2 } from "../../core/nn/model/depth_anything.ts";
import { initialWeights } from "../../core/nn/model/init_weights.ts";
import { release } from "../../core/nn/ops/release.ts";
import { SMALL_MODEL } from "../../core/study/small_model.ts";
import { TrainGraph } from "../../core/train/model_backward.ts";
import { randomArray } from "../shared.ts";

const device = await Runtime.create();

for (const isCpu of [true, false]) {
  Deno.test(`inference and training forwards give bit-identical depth (${isCpu ? "CPU" : "GPU"} kernels)`, async () => {
    const rt = new Runtime({ ...device.ctx, isCpu });
    const config = parseConfig(SMALL_MODEL, "small");
    const model = DepthAnythingV2.fromStateDict(rt, config, initialWeights(config, 3));
    try {
      for (const [batch, h, w] of [[1, 42, 56], [2, 56, 42]]) {
        const input = rt.upload("act/input", [batch, 3, h, w], randomArray(batch * 3 * h * w, h + batch));
        const inference = await model.forwardTensor(input);
        const want = await rt.read(inference.depth);
        release(rt, inference.depth, inference.logits);
        for (const checkpoint of ["none", "blocks"] as const) {
          const graph = new TrainGraph(config, model.weights, { checkpoint, trainable: () => true });
          const state = graph.forward(rt, input);
          const got = await rt.read(state.depth);
          release(rt, state.depth);
          assert.equal(got.length, want.length);
          const differ = got.findIndex((v, i) => !Object.is(v, want[i]));
          assert.equal(
            differ,
            -1,
            `batch ${batch}, ${checkpoint}: depth ${differ} ${got[differ]} ≠ ${want[differ]}`,
          );
        }
        release(rt, input);
      }
    } finally {
      model.dispose();
    }
  });
}
