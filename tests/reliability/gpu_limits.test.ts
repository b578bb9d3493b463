/**
 * Work too large for the adapter (issue 13, case 11): an input size whose buffers pass the adapter's limits
 * once printed raw WebGPU validation errors ("Buffer binding 1 range … exceeds …", "BindGroup … is invalid")
 * before predict's own clean skip. The limits are checked where buffers are made and bound, so the skip's one
 * line, naming the buffer and the limit, is all that is said.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertUnchanged, FIXTURES, hashTree, inTempDir, runTask } from "./helpers.ts";

Deno.test("predict past the adapter's buffer limits: one clean reject, no raw WebGPU error", async () => {
  await inTempDir(async (dir) => {
    const inputs = join(dir, "in");
    await Deno.mkdir(inputs);
    const image = join(inputs, "frame.jpg");
    await Deno.copyFile(
      join(FIXTURES, "hypersim/ai_900_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg"),
      image,
    );
    const before = await hashTree(inputs);
    const out = join(dir, "out");
    // 3400 px a side: a 177 MiB input and ~79k tokens, past any adapter's binding or attention limit.
    const run = await runTask("predict", [
      ...["--weights", join(FIXTURES, "study_base/base.safetensors"), "--input", image, "--out", out],
      ...["--input-size", "3400"],
    ]);
    const context = `exit ${run.code}\n${run.stdout}\n${run.stderr}`;
    assert.equal(run.code, 3, context);
    assert.doesNotMatch(run.stderr, /WebGPU error/, context);
    assert.match(run.stdout, /done: 0 predicted, 1 failed/, context);
    const rejects = (await Deno.readTextFile(join(out, "rejects.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0].input, image);
    assert.equal(rejects[0].code, "adapter-limits");
    assert.match(rejects[0].error, /over the adapter's largest|the limit is \d+ .*use a smaller input size/);
    await assertUnchanged(inputs, before, "the input");
  });
});
