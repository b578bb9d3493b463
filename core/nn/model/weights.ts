/**
 * A state_dict on the GPU: one pooled tensor per key, labelled `weights/<official key>`, so the pool's
 * breakdown reports weights apart from activations and a missing key names itself.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import type { StateDict } from "../../io/pth.ts";
import { TrompeError } from "../../errors.ts";
import type { LinearWeights } from "../ops/linear.ts";
import type { AffineWeights } from "../ops/layernorm.ts";

export class GpuWeights {
  constructor(readonly tensors: Map<string, Tensor>) {}

  get(key: string): Tensor {
    const t = this.tensors.get(key);
    if (!t) {
      throw new TrompeError("not-found", `weight ${key} is not on the GPU`, {
        hint: "was it filtered out when the state_dict was uploaded?",
      });
    }
    return t;
  }

  /** `<prefix>.weight` and, where the state_dict has one, `<prefix>.bias`. */
  linear(prefix: string): LinearWeights {
    return { weight: this.get(`${prefix}.weight`), bias: this.tensors.get(`${prefix}.bias`) };
  }

  affine(prefix: string): AffineWeights {
    return { weight: this.get(`${prefix}.weight`), bias: this.get(`${prefix}.bias`) };
  }
}

/** Uploads every key of `stateDict` that `keep` accepts (default: all). */
export function uploadWeights(
  rt: Runtime,
  stateDict: StateDict,
  keep: (key: string) => boolean = () => true,
): GpuWeights {
  const tensors = new Map<string, Tensor>();
  for (const [key, t] of stateDict) {
    if (keep(key)) tensors.set(key, rt.upload(`weights/${key}`, t.shape, t.data));
  }
  return new GpuWeights(tensors);
}

export function freeWeights(rt: Runtime, weights: GpuWeights): void {
  rt.flush();
  rt.free(...weights.tensors.values());
  weights.tensors.clear();
}
