/**
 * Frees tensors that recorded-but-unsubmitted commands may still read. The Runtime's pool makes that safe
 * without a submit: a freed buffer is either kept and handed out again to later commands (which run after
 * the earlier readers), or destroyed only after the next submit.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";

export function release(rt: Runtime, ...tensors: Tensor[]): void {
  rt.free(...tensors);
}
