/**
 * `deno task predict`: depth for an image, a folder or a split file, on the WGSL model or an ONNX model.
 */
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import {
  ADAPTER_FLAG,
  badFlag,
  choiceFlag,
  floatFlag,
  intFlag,
  listFlag,
  MODEL_FLAGS,
  modelFlags,
  parseFlags,
  requireFlag,
} from "../core/cli/flags.ts";
import { applyMaxPixels, MAX_PIXELS_FLAG, maxPixelsHelp } from "../core/cli/max_pixels_flag.ts";
import { runTask } from "../core/cli/main.ts";
import { prepareOutDir } from "../core/cli/out_dir.ts";
import { Progress } from "../core/cli/progress.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { readSplitFile } from "../core/data/splits.ts";
import { asTrompeError, TrompeError } from "../core/errors.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import { readImageRgb } from "../core/io/image.ts";
import type { HeadKind } from "../core/nn/model/config.ts";
import { loadDepthAnythingV2 } from "../core/nn/model/load.ts";
import { OnnxEngine } from "../core/nn/onnx_engine.ts";
import { type DepthEngine, inferDepth } from "../core/nn/predict.ts";
import { type Intrinsics, PNG16_UNITS, SAVE_KINDS, saveOutputs } from "../core/nn/predict_outputs.ts";
import { depthPreview } from "../core/plot/depth_preview.ts";
import { COLOR_MAP_NAMES } from "../core/plot/colormap.ts";

const HELP = `deno task predict --weights FILE --input PATH --out DIR [options]
deno task predict --engine onnx --model FILE.onnx --input PATH --out DIR [options]

Runs Depth Anything V2 on images: the official preprocessing (lower-bound resize to --input-size, a
multiple of 14, INTER_CUBIC, ImageNet normalisation), the network, and a bilinear align_corners resize of the
depth back to the image size (what the official infer_image returns).

  --weights FILE     checkpoint: .safetensors (trompe's record their config, head and max depth) or an
                     official .pth (plain state_dict or train.py's {model: ...} with module. prefixes)
  --input PATH       an image (JPEG/PNG), a folder (searched recursively), or a split file
                     ('<rgb> <depth>' lines; relative paths from --root)
  --root DIR         what a split file's relative paths start from (default: the current directory)
  --out DIR          where outputs go, mirroring the input folder's layout
  --input-size N     network input size (default 518)
  --head KIND        metric | relative: required for official checkpoints whose name does not say
  --max-depth M      metres for a metric head (20 indoor/Hypersim, 80 outdoor/vKITTI)
  --config FILE      model config JSON (embedDim, depth, heads, mlpRatio, features, outChannels, layers,
                     head, maxDepth) for custom sizes; official sizes are inferred from the weights
  --save LIST        any of npy (float32 H×W: metres, or disparity for a relative head; default),
                     png16 (uint16: NAME_depth16.png in millimetres for a metric head; NAME_disparity16.png,
                     disparity × 1000 with no unit, for a relative head), color (preview PNG with a
                     numbered scale bar in the head's unit), ply (coloured point cloud, metric models)
  --cmap NAME        the colour preview's map: turbo (default) | spectral (run.py's Spectral_r) | gray
  --side-by-side     the colour preview as RGB | depth (run.py's default output; its --pred-only is ours)
  --fx --fy          pinhole focal lengths in pixels for ply (default: the official depth_to_pointcloud.py
                     camera, f = 470.4 px at 518 px, scaled to the image)
  --cx --cy          principal point in pixels (default: the image centre)
  --engine E         webgpu (default) | onnx
  --model FILE       the ONNX model for --engine onnx (external weights are read from beside it)
  --threads N        wasm threads for --engine onnx (default 1)
${maxPixelsHelp(21)}
  --debug            print stack traces
  --help             this text

Writes <out>/predict.run.json (inputs, settings, resolved config, per-image results, timings) and
<out>/rejects.jsonl for images that failed (the batch goes on). Exit status: 0 done, 1 error,
2 bad argument, 3 done but some images failed.`;

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png"]);

interface Item {
  path: string;
  /** Output base name relative to --out, without extension. */
  name: string;
}

async function listImages(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await listImages(path));
    else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
  }
  return found.sort();
}

/** Every image to run, with an output name that keeps folder structure (so equal file names never clash). */
async function listInputs(input: string, root: string): Promise<Item[]> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(input);
  } catch (error) {
    throw asTrompeError(error, input);
  }
  const strip = (p: string) => p.slice(0, p.length - extname(p).length);
  if (stat.isDirectory) {
    return (await listImages(input)).map((path) => ({ path, name: strip(relative(input, path)) }));
  }
  if (IMAGE_EXTENSIONS.has(extname(input).toLowerCase())) {
    return [{ path: input, name: strip(basename(input)) }];
  }
  const lines = await readSplitFile(input, { root, check: false });
  return lines.map((l) => ({
    path: l.rgbPath,
    name: strip(relative(root, l.rgbPath)).replaceAll("..", "_"),
  }));
}

function intrinsicsFrom(values: Partial<Record<"fx" | "fy" | "cx" | "cy", string>>): Intrinsics | undefined {
  const [fx, fy, cx, cy] = (["fx", "fy", "cx", "cy"] as const).map((k) => floatFlag(values[k], `--${k}`));
  if ([fx, fy, cx, cy].every((v) => v === undefined)) return undefined;
  if (fx === undefined || fy === undefined) badFlag("--fx", "give --fx and --fy together");
  if ((cx === undefined) !== (cy === undefined)) badFlag("--cx", "give --cx and --cy together, or neither");
  return { fx, fy, cx, cy };
}

async function main(): Promise<void> {
  const values = parseFlags("predict", {
    args: Deno.args,
    options: {
      weights: { type: "string" },
      input: { type: "string" },
      root: { type: "string" },
      out: { type: "string" },
      "input-size": { type: "string" },
      ...MODEL_FLAGS,
      save: { type: "string" },
      cmap: { type: "string" },
      "side-by-side": { type: "boolean", default: false },
      fx: { type: "string" },
      fy: { type: "string" },
      cx: { type: "string" },
      cy: { type: "string" },
      engine: { type: "string" },
      model: { type: "string" },
      threads: { type: "string" },
      ...MAX_PIXELS_FLAG,
      debug: { type: "boolean", default: false },
      ...ADAPTER_FLAG,
      help: { type: "boolean", default: false },
    },
  }, HELP).values;
  if (values.help) return;
  applyMaxPixels(values["max-pixels"]);
  const engineKind = choiceFlag(values.engine, "--engine", ["webgpu", "onnx"] as const, "webgpu");
  const input = resolve(requireFlag(values.input, "--input", "an image, a folder or a split file"));
  const out = resolve(requireFlag(values.out, "--out", "the output folder"));
  const inputSize = intFlag(values["input-size"], "--input-size", 518, 14);
  const save = listFlag(values.save, "--save", SAVE_KINDS, ["npy"]);
  const root = resolve(values.root ?? ".");
  const colorMap = choiceFlag(values.cmap, "--cmap", COLOR_MAP_NAMES, "turbo");
  const sideBySide = values["side-by-side"];
  const modelInfo = modelFlags(values);
  const intrinsics = intrinsicsFrom(values);
  // After the flags (a mistyped one writes nothing), before the model: outputs inside an input folder would be
  // read as inputs by the next run.
  await prepareOutDir(out, [{ flag: "--input", path: input }]);

  const started = performance.now();
  let engine: DepthEngine;
  let head: HeadKind;
  const settings: Record<string, unknown> = {
    engine: engineKind,
    inputSize,
    save,
    colorMap,
    sideBySide,
    intrinsics: intrinsics ?? "default",
  };
  if (engineKind === "webgpu") {
    const weights = resolve(requireFlag(values.weights, "--weights", "a .safetensors or .pth checkpoint"));
    const loaded = await loadDepthAnythingV2(weights, modelInfo);
    engine = loaded;
    head = loaded.config.head;
    const c = loaded.config;
    console.log(
      `model: ${weights}\n  encoder embed ${c.embedDim}, depth ${c.depth}, heads ${c.heads}, layers [${c.layers}]; ` +
        `features ${c.features}, out channels [${c.outChannels}]; ` +
        (c.head === "metric" ? `metric head, max depth ${c.maxDepth} m` : "relative head (disparity)"),
    );
    for (const note of loaded.notes) console.log(`  ${note}`);
    Object.assign(settings, { weights, config: c, notes: loaded.notes });
  } else {
    const model = resolve(requireFlag(values.model, "--model", "the .onnx file to run"));
    const onnx = await OnnxEngine.open(model, { numThreads: intFlag(values.threads, "--threads", 1, 1) });
    engine = onnx;
    head = modelInfo.head ?? "metric";
    console.log(`model: ${model} (onnxruntime-web, input ${onnx.inputName}, output ${onnx.outputName})`);
    if (onnx.fixedInput) {
      console.log(
        `  the model takes ${onnx.fixedInput.height}×${onnx.fixedInput.width} only: images are resized to it (aspect not kept)`,
      );
    }
    if (!modelInfo.head) {
      console.log("  assumed its output is metric depth in metres (--head relative if disparity)");
    }
    Object.assign(settings, { model, head, fixedInput: onnx.fixedInput ?? null });
  }
  if (save.includes("ply") && head === "relative") {
    badFlag("--save", "ply needs metric depth; this model's output is relative disparity");
  }

  if (save.includes("png16")) {
    const { suffix, unit } = PNG16_UNITS[head];
    console.log(`png16: *${suffix} in ${unit}`);
    settings.png16 = unit;
  }
  const items = await listInputs(input, root);
  if (items.length === 0) {
    throw new TrompeError("not-found", "no JPEG or PNG images found", { subject: input });
  }
  console.log(`predict: ${items.length} image${items.length === 1 ? "" : "s"} from ${input} → ${out}`);
  await Deno.mkdir(out, { recursive: true });
  const progress = new Progress("predict", items.length, { unit: "images" });
  const results: Record<string, unknown>[] = [];
  const rejects: string[] = [];
  let forwardMs = 0;
  for (const item of items) {
    try {
      const rgb = await readImageRgb(item.path);
      const t0 = performance.now();
      const result = await inferDepth(engine, rgb, inputSize);
      const ms = performance.now() - t0;
      forwardMs += ms;
      await Deno.mkdir(dirname(join(out, item.name)), { recursive: true });
      const saved = await saveOutputs(join(out, item.name), result.depth, rgb, save, head, {
        intrinsics,
        preview: (values, image) => depthPreview(values, image, { head, colorMap, sideBySide }),
      });
      results.push({
        input: item.path,
        size: [rgb.width, rgb.height],
        network: [result.network.width, result.network.height],
        ms: Math.round(ms),
        files: saved.files.map((f) => relative(out, f)),
        ...(saved.colorRange ? { colorRange: saved.colorRange } : {}),
        ...(saved.png16?.clamped ? { png16Clamped: saved.png16.clamped } : {}),
      });
      progress.tick();
    } catch (error) {
      const e = asTrompeError(error, item.path);
      rejects.push(JSON.stringify({ input: item.path, code: e.code, error: e.oneLine() }));
      progress.tick(1, true);
    }
  }
  engine.dispose();
  console.log(progress.finish());
  const rejectsPath = join(out, "rejects.jsonl");
  await writeTextFileAtomic(rejectsPath, rejects.map((l) => l + "\n").join(""));
  const record = await writeRunRecord(out, {
    task: "predict",
    inputs: { input, images: items.length },
    settings,
    results: { done: results.length, failed: rejects.length, images: results },
    timings: { seconds: (performance.now() - started) / 1000, inferenceMs: Math.round(forwardMs) },
    failures: rejects.length,
  });
  console.log(
    `done: ${results.length} predicted, ${rejects.length} failed` +
      (rejects.length ? ` (see ${rejectsPath})` : "") + `\nrun record: ${record}`,
  );
  if (rejects.length > 0) Deno.exitCode = 3;
}

if (import.meta.main) await runTask(main);
