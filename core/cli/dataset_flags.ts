/**
 * The flags that name the frames a task reads (augment, data, eval, probe, train): which dataset, its root
 * folder, and a split file of some of its frames. Declared and checked here once, so the tasks agree on their
 * names and errors.
 */
import { resolve } from "node:path";
import { DATASET_NAMES, type DatasetName } from "../data/datasets.ts";
import { choiceFlag, requireFlag } from "./flags.ts";

/** --dataset and --root, for a task that reads a whole tree (data). */
export const DATASET_ROOT_FLAGS = {
  dataset: { type: "string" },
  root: { type: "string" },
} as const;

/** --dataset, --root and --split. */
export const DATASET_FLAGS = { ...DATASET_ROOT_FLAGS, split: { type: "string" } } as const;

export interface DatasetChoice {
  readonly dataset: DatasetName;
  /** --root, resolved. */
  readonly root: string;
  /** --split, resolved; undefined when absent. */
  readonly split?: string;
}

export interface DatasetFlagOptions {
  /** The dataset when --dataset is absent; without one --dataset is required. */
  readonly dataset?: DatasetName;
  /** What --root is for, the hint when it is missing (default: the dataset's root folder). */
  readonly root?: string;
}

/** DATASET_FLAGS' values, checked: the dataset one trompe reads, a root given. */
export function datasetChoice(
  values: { dataset?: string; root?: string; split?: string },
  options: DatasetFlagOptions = {},
): DatasetChoice {
  return {
    dataset: choiceFlag(values.dataset, "--dataset", DATASET_NAMES, options.dataset),
    root: resolve(requireFlag(values.root, "--root", options.root ?? "the dataset's root folder")),
    split: values.split && resolve(values.split),
  };
}
