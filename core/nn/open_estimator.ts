/**
 * Opening one depth model as an estimator, the one way eval, probe and the study do it: a checkpoint on the
 * WGSL model, or an ONNX export on onnxruntime-web, with the lines that tell the user what was loaded and
 * what was assumed.
 */
import type { HeadKind, ModelConfig } from "./model/config.ts";
import { loadDepthAnythingV2 } from "./model/load.ts";
import { OnnxEngine } from "./onnx_engine.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { type DepthEstimator, engineEstimator } from "./estimator.ts";

export interface ModelSource {
  readonly engine: "webgpu" | "onnx";
  /** A checkpoint (.safetensors, .pth) for webgpu; an .onnx file for onnx. */
  readonly path: string;
  readonly name: string;
  readonly inputSize: number;
  readonly configFile?: string;
  readonly head?: HeadKind;
  readonly maxDepth?: number;
  /** wasm threads for onnx. */
  readonly threads?: number;
}

export interface OpenedModel {
  readonly estimator: DepthEstimator;
  /** What was loaded and assumed, one line each, for the console and the run record. */
  readonly notes: string[];
  readonly head: HeadKind;
  readonly maxDepth: number | null;
  /** The checkpoint's model config (webgpu); null for an ONNX export. */
  readonly config: ModelConfig | null;
  /** What the checkpoint loader reported (webgpu: names converted, sizes inferred); empty for ONNX. */
  readonly loaderNotes: string[];
  /** The ONNX session's tensor names and the one input size it takes, if any; null for webgpu. */
  readonly onnx: OnnxSession | null;
}

export interface OnnxSession {
  readonly inputName: string;
  readonly outputName: string;
  readonly fixedInput: { height: number; width: number } | null;
}

export async function openEstimator(source: ModelSource, rt?: Runtime): Promise<OpenedModel> {
  if (source.engine === "webgpu") {
    const model = await loadDepthAnythingV2(source.path, {
      configFile: source.configFile,
      head: source.head,
      maxDepth: source.maxDepth,
    }, rt);
    const c = model.config;
    return {
      estimator: engineEstimator(source.name, model, c.head, source.inputSize),
      notes: [
        c.head === "metric" ? `metric head, max depth ${c.maxDepth} m` : "relative head",
        ...model.notes,
      ],
      head: c.head,
      maxDepth: c.maxDepth ?? null,
      config: c,
      loaderNotes: model.notes,
      onnx: null,
    };
  }
  const onnx = await OnnxEngine.open(source.path, { numThreads: source.threads ?? 1 });
  const head = source.head ?? "metric";
  const notes = [
    `onnxruntime-web${
      onnx.fixedInput ? `, fixed input ${onnx.fixedInput.height}×${onnx.fixedInput.width}` : ""
    }`,
  ];
  if (!source.head) notes.push("assumed its output is metric depth in metres (--head relative if disparity)");
  return {
    estimator: engineEstimator(source.name, onnx, head, source.inputSize),
    notes,
    head,
    maxDepth: source.maxDepth ?? null,
    config: null,
    loaderNotes: [],
    onnx: { inputName: onnx.inputName, outputName: onnx.outputName, fixedInput: onnx.fixedInput ?? null },
  };
}
