/**
 * A small model for tests and the training bench (the size the old demo trained from scratch): tiny-a's shape
 * with a wider decoder, quick to train on a CPU.
 */
export const SMALL_MODEL = {
  embedDim: 64,
  depth: 4,
  heads: 4,
  mlpRatio: 4,
  features: 32,
  outChannels: [16, 32, 64, 64],
  layers: [0, 1, 2, 3],
  head: "metric",
  maxDepth: 20,
  imgSize: 518,
};
