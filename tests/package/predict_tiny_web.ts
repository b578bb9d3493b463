/**
 * Run by the package tests in a fresh `deno run --no-config` process: reads a checkpoint, its config and an
 * image already decoded to raw RGB, then removes the Deno namespace — as in a browser — before importing
 * trompe's web entry from the URL given, runs the model, and writes the depth as raw little-endian float32.
 * Any Deno API the web entry reached would throw.
 *
 *   predict_tiny_web.ts <web.ts URL> <weights.safetensors> <config.json> <image.rgb> <width> <height> <out.f32>
 */
const [entry, weights, configFile, rgbFile, width, height, out] = Deno.args;
const deno = Deno;
const weightBytes = await deno.readFile(weights);
const config = JSON.parse(await deno.readTextFile(configFile));
const rgb = { width: Number(width), height: Number(height), channels: 3, data: await deno.readFile(rgbFile) };
// deno-lint-ignore no-explicit-any
delete (globalThis as any).Deno;

const web = await import(entry);
const st = web.parseSafetensors(weightBytes, weights);
const rt = await web.Runtime.create();
const model = web.DepthAnythingV2.fromStateDict(
  rt,
  web.parseConfig(config, configFile),
  web.stateDictFromSafetensors(st),
);
const { depth } = await model.infer(rgb, config.inputSize);
model.dispose();
await deno.writeFile(out, new Uint8Array(depth.buffer, depth.byteOffset, depth.byteLength));
