/**
 * `deno task predict`: depth for an image, a folder or a split file, on the WGSL model or an ONNX model.
 */
import { resolve } from "node:path";
import {
  ADAPTER_FLAG,
  badFlag,
  choiceFlag,
  floatFlag,
  listFlag,
  parseFlags,
  requireFlag,
  stringFlags,
} from "../core/cli/flags.ts";
import { MAX_PIXELS_FLAG, maxPixelsHelp } from "../core/cli/max_pixels_flag.ts";
import { runTask } from "../core/cli/main.ts";
import { MODEL_SOURCE_FLAG, modelSource } from "../core/cli/model_sources.ts";
import { prepareOutDir } from "../core/cli/out_dir.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { type Intrinsics, SAVE_KINDS } from "../core/nn/predict_outputs.ts";
import { runPredict } from "../core/nn/predict_run.ts";
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
      ...MODEL_SOURCE_FLAG,
      ...stringFlags("input", "root"),
      ...OUTPUT_FLAGS,
      ...stringFlags("save", "cmap"),
      "side-by-side": { type: "boolean", default: false },
      ...stringFlags("fx", "fy", "cx", "cy"),
      ...MAX_PIXELS_FLAG,
      ...ADAPTER_FLAG,
    },
  }, HELP).values;
  if (values.help) return;
  const input = resolve(requireFlag(values.input, "--input", "an image, a folder or a split file"));
  const out = outFlag(values.out, "the output folder");
  const source = modelSource(values);
  const save = listFlag(values.save, "--save", SAVE_KINDS, ["npy"]);
  const root = resolve(values.root ?? ".");
  const colorMap = choiceFlag(values.cmap, "--cmap", COLOR_MAP_NAMES, "turbo");
  const sideBySide = values["side-by-side"];
  const intrinsics = intrinsicsFrom(values);
  // After the flags (a mistyped one writes nothing), before the model: outputs inside an input folder would be
  // read as inputs by the next run.
  await prepareOutDir(out, [{ flag: "--input", path: input }]);

  const result = await runPredict({
    source,
    input,
    root,
    out,
    save,
    intrinsics,
    preview: (head) => (depth, image) => depthPreview(depth, image, { head, colorMap, sideBySide }),
    settings: { colorMap, sideBySide },
    log: (line) => console.log(line),
  });
  console.log(
    `done: ${result.done} predicted, ${result.failed} failed` +
      (result.failed ? ` (see ${result.rejectsPath})` : "") + `\nrun record: ${result.recordPath}`,
  );
  if (result.failed > 0) Deno.exitCode = 3;
}

if (import.meta.main) await runTask(main);
