/**
 * A checkpoint file on the GPU as a ready model: the file side of DepthAnythingV2, kept out of its module so
 * the model itself (weights given as a state_dict) needs nothing but WebGPU and runs in a browser too.
 */
import { Runtime } from "../../gpu/runtime.ts";
import { type CheckpointOverrides, loadCheckpoint } from "./checkpoint.ts";
import { DepthAnythingV2 } from "./depth_anything.ts";

/**
 * Reads a checkpoint (.safetensors or .pth; config, head and max depth resolved as `loadCheckpoint` does, its
 * notes kept in `model.notes`) onto `rt`, or onto the process's GPU.
 *
 * @example Depth for one image
 * ```ts
 * import { loadDepthAnythingV2, readImageRgb } from "@trompe/trompe";
 *
 * const model = await loadDepthAnythingV2("depth_anything_v2_metric_hypersim_vits.pth");
 * const { depth, width, height } = await model.infer(await readImageRgb("room.jpg"));
 * console.log(`${width}×${height}, centre ${depth[(height >> 1) * width + (width >> 1)].toFixed(2)} m`);
 * model.dispose();
 * ```
 */
export async function loadDepthAnythingV2(
  path: string,
  overrides: CheckpointOverrides = {},
  rt?: Runtime,
): Promise<DepthAnythingV2> {
  const { config, stateDict, notes } = await loadCheckpoint(path, overrides);
  return DepthAnythingV2.fromStateDict(rt ?? await Runtime.create(), config, stateDict, notes);
}
