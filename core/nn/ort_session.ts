/**
 * onnxruntime-web sessions that leave the process as they found it. Its wasm backend starts its threads
 * through Emscripten, which in a Node-like runtime replaces `globalThis.Worker` with node:worker_threads'
 * Worker — after which Deno's own module workers (augmentation, data loading, fixture rendering) cannot be
 * started in the same process. The threads exist once the session is created, so the global is put back.
 */
import * as ort from "npm:onnxruntime-web@1.30.0";

export async function createOrtSession(
  model: Uint8Array,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  const worker = globalThis.Worker;
  try {
    return await ort.InferenceSession.create(model, options);
  } finally {
    globalThis.Worker = worker;
  }
}
