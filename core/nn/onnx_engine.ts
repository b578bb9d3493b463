/**
 * An ONNX depth model as a DepthEngine, through onnxruntime-web's wasm backend (no native code, runs where
 * Deno runs). Input and output names and any fixed input size are read from the session. Weights stored as
 * ONNX external data are found by their `location` in the model and handed to onnxruntime-web, which cannot
 * open files itself (../shared/reference/vits-518: model.onnx + weights.safetensors).
 */
import * as ort from "npm:onnxruntime-web@1.30.0";
import { dirname, join } from "node:path";
import { readFileNamed } from "../io/atomic.ts";
import { TrompeError } from "../errors.ts";
import { createOrtSession } from "./ort_session.ts";
import type { DepthEngine } from "./predict.ts";

const LOCATION = new TextEncoder().encode("location");

/**
 * The external-data file names a serialized ONNX model refers to. Each is a StringStringEntryProto
 * {key: "location", value: NAME} inside a TensorProto: bytes 0x0A 0x08 "location" 0x12 LEN NAME.
 */
export function externalDataLocations(model: Uint8Array): string[] {
  const found = new Set<string>();
  const decoder = new TextDecoder();
  outer: for (let i = 2; i + LOCATION.length + 2 < model.length; i++) {
    if (model[i - 2] !== 0x0a || model[i - 1] !== LOCATION.length) continue;
    for (let j = 0; j < LOCATION.length; j++) if (model[i + j] !== LOCATION[j]) continue outer;
    const at = i + LOCATION.length;
    if (model[at] !== 0x12) continue;
    const length = model[at + 1];
    // Names under 128 bytes have a one-byte length; longer ones are not worth a varint reader here.
    if (length >= 0x80) {
      throw new TrompeError("unsupported", "an external-data file name of 128 bytes or more");
    }
    found.add(decoder.decode(model.subarray(at + 2, at + 2 + length)));
  }
  return [...found];
}

/** How `OnnxEngine.open` runs the model. */
export interface OnnxEngineOptions {
  /** wasm threads (onnxruntime-web's default is half the cores). */
  numThreads?: number;
}

/** An ONNX export of the model on onnxruntime-web (wasm), behind the same inference path as the WGSL model. */
export class OnnxEngine implements DepthEngine {
  readonly kind = "onnx";
  readonly fixedInput?: { height: number; width: number };

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly source: string,
    readonly inputName: string,
    readonly outputName: string,
  ) {
    const meta = session.inputMetadata.find((m) => m.name === inputName);
    const shape = meta && meta.isTensor ? meta.shape : undefined;
    if (shape && typeof shape[2] === "number" && typeof shape[3] === "number") {
      this.fixedInput = { height: shape[2], width: shape[3] };
    }
  }

  static async open(path: string, options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const model = await readFileNamed(path);
    const externalData = await Promise.all(
      externalDataLocations(model).map(async (name) => ({
        path: name,
        data: await readFileNamed(join(dirname(path), name)),
      })),
    );
    if (options.numThreads) ort.env.wasm.numThreads = options.numThreads;
    let session: ort.InferenceSession;
    try {
      session = await createOrtSession(model, { externalData });
    } catch (error) {
      throw new TrompeError("corrupt", `onnxruntime-web cannot load the model: ${error}`, {
        subject: path,
        cause: error,
      });
    }
    if (session.inputNames.length !== 1 || session.outputNames.length < 1) {
      throw new TrompeError("unsupported", `expected one image input, got [${session.inputNames}]`, {
        subject: path,
        hint: "a depth model takes 1×3×H×W and returns 1×H×W (or 1×1×H×W)",
      });
    }
    return new OnnxEngine(session, path, session.inputNames[0], session.outputNames[0]);
  }

  async forward(input: Float32Array, height: number, width: number): Promise<Float32Array> {
    const feeds = { [this.inputName]: new ort.Tensor("float32", input, [1, 3, height, width]) };
    const result = await this.session.run(feeds);
    const out = result[this.outputName];
    const data = out.data;
    if (!(data instanceof Float32Array) || data.length !== height * width) {
      throw new TrompeError(
        "shape-mismatch",
        `output ${this.outputName} [${out.dims}] for a ${height}×${width} input`,
        {
          subject: this.source,
        },
      );
    }
    const depth = data.slice();
    for (const t of Object.values(result)) t.dispose();
    return depth;
  }

  dispose(): void {
    void this.session.release();
  }
}
