/**
 * Frees tensors that recorded-but-unsubmitted commands still read. `Runtime.free` destroys the buffer at
 * once, and a submit that uses a destroyed buffer is invalid; after a submit the destroy is safe (WebGPU
 * keeps the memory until the queue is done). So: submit, then free.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";

export function release(rt: Runtime, ...tensors: Tensor[]): void {
  rt.flush();
  rt.free(...tensors);
}
