/**
 * What a predict run reads and where each output goes: a folder keeps its layout (two frame.jpg never share a
 * name), one image is its own stem, and a split file's paths are named from --root, with a path that climbs
 * out of it kept inside --out.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listPredictInputs } from "../../core/nn/predict_inputs.ts";
import { TrompeError } from "../../core/errors.ts";

Deno.test("predict inputs: a folder by layout, one image, a split file from its root", async () => {
  const dir = await Deno.makeTempDir();
  const images = join(dir, "images");
  for (const path of ["b/frame.jpg", "a/frame.PNG", "a/notes.txt", "top.jpeg"]) {
    await Deno.mkdir(join(images, path, ".."), { recursive: true });
    await Deno.writeFile(join(images, path), new Uint8Array([1]));
  }
  assert.deepEqual(await listPredictInputs(images, dir), [
    { path: join(images, "a/frame.PNG"), name: "a/frame" },
    { path: join(images, "b/frame.jpg"), name: "b/frame" },
    { path: join(images, "top.jpeg"), name: "top" },
  ]);
  assert.deepEqual(await listPredictInputs(join(images, "b/frame.jpg"), dir), [
    { path: join(images, "b/frame.jpg"), name: "frame" },
  ]);

  const root = join(dir, "root");
  await Deno.mkdir(root);
  const split = join(dir, "split.txt");
  await Deno.writeTextFile(split, "rgb/x.jpg depth/x.png\n../images/top.jpeg depth/top.png\n");
  assert.deepEqual(await listPredictInputs(split, root), [
    { path: join(root, "rgb/x.jpg"), name: "rgb/x" },
    { path: join(images, "top.jpeg"), name: "_/images/top" },
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("predict inputs: a missing input is an error naming it", async () => {
  const missing = join(await Deno.makeTempDir(), "nothing-here");
  await assert.rejects(
    () => listPredictInputs(missing, "."),
    (error) => error instanceof TrompeError && error.oneLine().includes(missing),
  );
});
