/**
 * The official optimizer groups (metric_depth/train.py): parameters whose name contains "pretrained" (the
 * DINOv2 encoder) at the base learning rate, all others (the DPT head) at 10×. The test is the official
 * substring test, not a prefix test.
 */
export type ParamGroup = "encoder" | "decoder";

export const DECODER_LR_FACTOR = 10;

export function paramGroup(key: string): ParamGroup {
  return key.includes("pretrained") ? "encoder" : "decoder";
}

/** The learning rate of `key`'s group for an encoder rate `lr`. */
export function groupLr(key: string, lr: number): number {
  return paramGroup(key) === "encoder" ? lr : lr * DECODER_LR_FACTOR;
}
