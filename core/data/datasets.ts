/**
 * The facts about the datasets trompe reads, in one place: their names and the depths their ground truth may
 * hold (which is also the range evaluation counts by default).
 */

/** The datasets trompe reads and augments, in the order help texts and loops list them. */
export const DATASET_NAMES = ["hypersim", "vkitti2"] as const;

/** One of the datasets trompe reads and augments. */
export type DatasetName = typeof DATASET_NAMES[number];

/**
 * The depths a dataset's ground truth may hold, in metres, as Depth Anything V2's metric trainer and evaluator
 * take them (min_depth 0.001; max_depth 20 for Hypersim, 80 for vKITTI2). Evaluation counts pixels in this
 * range unless told otherwise (`deno task eval --eval-range`).
 */
export const DEPTH_RANGE: Readonly<Record<DatasetName, { minDepth: number; maxDepth: number }>> = {
  hypersim: { minDepth: 0.001, maxDepth: 20 },
  vkitti2: { minDepth: 0.001, maxDepth: 80 },
};

/** The largest depth a dataset's files can hold (Hypersim: float16 distance; vKITTI2: 65534 cm, 65535 = sky). */
export const MAX_STORABLE_DEPTH: Readonly<Record<DatasetName, number>> = { hypersim: 65504, vkitti2: 655.34 };
