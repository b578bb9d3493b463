/**
 * Run by the package tests in a fresh `deno run --no-config` process: imports trompe's Deno entry from the URL
 * given (a file: URL, or http: from a local server), runs a checkpoint on an image at an input size, and
 * writes the depth as raw little-endian float32. Nothing of trompe is imported statically, so every module
 * comes from that URL.
 *
 *   predict_tiny.ts <mod.ts URL> <weights> <config.json> <image> <out.f32>
 */
const [entry, weights, configFile, image, out] = Deno.args;
const trompe = await import(entry);
const { inputSize } = JSON.parse(await Deno.readTextFile(configFile));
const model = await trompe.loadDepthAnythingV2(weights, { configFile });
const { depth } = await model.infer(await trompe.readImageRgb(image), inputSize);
model.dispose();
await Deno.writeFile(out, new Uint8Array(depth.buffer, depth.byteOffset, depth.byteLength));
