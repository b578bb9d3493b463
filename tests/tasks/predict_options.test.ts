/**
 * `deno task predict` with the official scripts' habits: run.py's flag names, a split file read against
 * --root, run.py's RGB | depth output in grey, and a relative head's 16-bit PNG named as what it holds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readPng } from "../../core/io/png.ts";
import { runTaskFile } from "../helpers/run_task.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const TINY_A = join(REFERENCE_DIR, "tiny-a");

sharedTest(
  "predict: --root for a split file, --side-by-side --grayscale, a relative head's png16",
  async () => {
    const dir = await Deno.makeTempDir();
    const root = join(dir, "data");
    await Deno.mkdir(join(root, "rgb"), { recursive: true });
    await Deno.copyFile(join(REFERENCE_DIR, "images/demo05_131x97.jpg"), join(root, "rgb/a.jpg"));
    await Deno.writeTextFile(join(dir, "split.txt"), "rgb/a.jpg depth/a.png\n");
    const config = JSON.parse(await Deno.readTextFile(join(TINY_A, "config.json")));
    await Deno.writeTextFile(join(dir, "relative.json"), JSON.stringify({ ...config, head: "relative" }));
    const out = join(dir, "out");
    const run = await runTaskFile("predict", [
      "--load-from",
      join(TINY_A, "weights.pth"),
      "--config",
      join(dir, "relative.json"),
      "--img-path",
      join(dir, "split.txt"),
      "--root",
      root,
      "--outdir",
      out,
      "--input-size",
      "70",
      "--save",
      "png16,color",
      "--side-by-side",
      "--grayscale",
    ]);
    assert.equal(run.code, 0, run.text);
    assert.match(run.text, /png16: \*_disparity16\.png in relative disparity × 1000 \(no unit\)/);
    assert.match(run.text, /^device: /m);
    // Output names follow the split's paths from --root.
    const png16 = await readPng(join(out, "rgb/a_disparity16.png"));
    assert.equal(png16.width, 131);
    const color = await readPng(join(out, "rgb/a_color.png"));
    assert.ok(color.width > 2 * 131, "RGB | depth");
    // Grey: the depth half's pixels have equal channels.
    const o = (40 * color.width + 131 + 30) * 3;
    const depthPixel = [...color.data.subarray(o, o + 3)];
    assert.ok(depthPixel.every((v) => v === depthPixel[0]), String(depthPixel));
    const record = JSON.parse(await Deno.readTextFile(join(out, "predict.run.json")));
    assert.equal(record.settings.colorMap, "gray");
    assert.equal(record.results.images[0].colorRange.unit, "relative disparity");
    assert.equal(typeof record.adapter.software, "boolean");
    await Deno.remove(dir, { recursive: true });
  },
);
