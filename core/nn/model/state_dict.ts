/** A parsed safetensors file as the state_dict the model takes: every tensor as float32, in the file's order. */
import type { StateDict } from "../../io/pth.ts";
import type { SafetensorsFile } from "../../io/safetensors_format.ts";

/**
 * Every tensor of `st` as a float32 state_dict entry (F16/BF16 upcast exactly), for
 * `DepthAnythingV2.fromStateDict`.
 */
export function stateDictFromSafetensors(st: SafetensorsFile): StateDict {
  return new Map(st.names().map((n) => [n, { shape: [...st.shape(n)], data: st.float32(n) }]));
}
