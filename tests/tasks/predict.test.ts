/**
 * `deno task predict` end to end on tiny-a: a folder with two images and a corrupt one, every --save kind,
 * then the same image through the ONNX engine. The npy of the golden image is `depth_infer`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readNpy } from "../../core/io/npy.ts";
import { readPng } from "../../core/io/png.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const TASK = new URL("../../tasks/predict.ts", import.meta.url).pathname;

async function predict(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TASK, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

sharedTest(
  "predict: a folder on tiny-a with every output kind; a corrupt image is recorded, not fatal",
  async () => {
    const dir = await Deno.makeTempDir();
    const images = join(dir, "images");
    await Deno.mkdir(join(images, "sub"), { recursive: true });
    await Deno.copyFile(join(REFERENCE_DIR, "images/demo05_131x97.jpg"), join(images, "demo05.jpg"));
    await Deno.copyFile(join(REFERENCE_DIR, "images/demo01_90x120.png"), join(images, "sub/demo01.png"));
    await Deno.writeFile(join(images, "broken.jpg"), new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]));
    const out = join(dir, "out");
    const tiny = join(REFERENCE_DIR, "tiny-a");
    const run = await predict([
      "--weights",
      join(tiny, "weights.safetensors"),
      "--config",
      join(tiny, "config.json"),
      "--input",
      images,
      "--out",
      out,
      "--input-size",
      "70",
      "--save",
      "npy,png16,color,ply",
    ]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /metric head, max depth 20 m/);
    assert.match(run.stdout, /done: 2 predicted, 1 failed/);
    const rejects = (await Deno.readTextFile(join(out, "rejects.jsonl"))).trim().split("\n");
    assert.equal(rejects.length, 1);
    assert.match(JSON.parse(rejects[0]).input, /broken\.jpg$/);
    const record = JSON.parse(await Deno.readTextFile(join(out, "predict.run.json")));
    assert.equal(record.results.done, 2);
    assert.equal(record.failures, 1);

    const golden = await readSafetensors(join(tiny, "golden.safetensors"));
    const npy = await readNpy(join(out, "demo05.npy"));
    assert.deepEqual(npy.shape, [97, 131]);
    const error = relL2(npy.data as Float32Array, golden.float64("depth_infer_f64ref"));
    console.log(`predict tiny-a depth_infer rel_l2 vs _f64ref: ${error.toExponential(2)}`);
    assert(error <= 1e-4, `rel_l2 ${error}`);
    const png16 = await readPng(join(out, "sub/demo01_depth16.png"));
    assert.deepEqual([png16.width, png16.height, png16.data.BYTES_PER_ELEMENT], [120, 90, 2]);
    const color = await readPng(join(out, "demo05_color.png"));
    assert.equal(color.width, 131);
    assert(color.height > 97, "the scale bar sits under the image");
    const ply = new TextDecoder().decode((await Deno.readFile(join(out, "demo05.ply"))).subarray(0, 200));
    assert.match(ply, /^ply\nformat binary_little_endian 1\.0\n[^]*element vertex 12707\n/);
    for await (const entry of Deno.readDir(out)) assert(!entry.name.includes(".tmp-"), entry.name);
    await Deno.remove(dir, { recursive: true });
  },
);

sharedTest(
  "predict: the ONNX engine gives the same depth_infer; errors are one line with a non-zero exit",
  async () => {
    const dir = await Deno.makeTempDir();
    const tiny = join(REFERENCE_DIR, "tiny-a");
    const run = await predict([
      "--engine",
      "onnx",
      "--model",
      join(tiny, "model.onnx"),
      "--input",
      join(REFERENCE_DIR, "images/demo05_131x97.jpg"),
      "--out",
      dir,
      "--input-size",
      "70",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const golden = await readSafetensors(join(tiny, "golden.safetensors"));
    const npy = await readNpy(join(dir, "demo05_131x97.npy"));
    const error = relL2(npy.data as Float32Array, golden.float64("depth_infer_f64ref"));
    console.log(`predict ONNX tiny-a depth_infer rel_l2 vs _f64ref: ${error.toExponential(2)}`);
    assert(error <= 1e-4);

    // Input and --out as a user gives them (an image, a fresh folder): only the missing weights are wrong.
    // (--out must stay out of the input folder, which is refused first, before the weights are read.)
    const bad = await predict([
      "--weights",
      join(dir, "missing.pth"),
      "--input",
      join(REFERENCE_DIR, "images/demo05_131x97.jpg"),
      "--out",
      join(dir, "missing-weights"),
    ]);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, /^error: not-found: .*missing\.pth/);
    await Deno.remove(dir, { recursive: true });
  },
);
