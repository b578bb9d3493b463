/**
 * The official scripts' flag names (run.py, metric_depth/run.py, depth_to_pointcloud.py, metric_depth/train.py)
 * where trompe's differ: accepted as aliases so a researcher's habits work, and listed in every --help.
 */

export interface OfficialName {
  /** The official flag, without its dashes. */
  readonly official: string;
  /** trompe's flag it stands for. */
  readonly trompe: string;
  /** A value the official flag implies for trompe's (a boolean official flag). */
  readonly value?: string;
  /** Which official scripts use it. */
  readonly scripts: string;
}

export const OFFICIAL_NAMES: readonly OfficialName[] = [
  { official: "img-path", trompe: "input", scripts: "run.py, depth_to_pointcloud.py" },
  { official: "outdir", trompe: "out", scripts: "run.py, depth_to_pointcloud.py" },
  { official: "save-path", trompe: "out", scripts: "train.py" },
  { official: "load-from", trompe: "weights", scripts: "metric_depth/run.py, depth_to_pointcloud.py" },
  { official: "bs", trompe: "batch", scripts: "train.py" },
  { official: "input-size", trompe: "img-size", scripts: "run.py" },
  { official: "img-size", trompe: "input-size", scripts: "train.py" },
  { official: "grayscale", trompe: "cmap", value: "gray", scripts: "run.py" },
  { official: "focal-length-x", trompe: "fx", scripts: "depth_to_pointcloud.py" },
  { official: "focal-length-y", trompe: "fy", scripts: "depth_to_pointcloud.py" },
];

export interface OfficialValue {
  readonly flag: string;
  readonly official: string;
  readonly trompe: string;
  readonly scripts: string;
}

/** Official values trompe spells differently. */
export const OFFICIAL_VALUES: readonly OfficialValue[] = [
  { flag: "dataset", official: "vkitti", trompe: "vkitti2", scripts: "train.py" },
];

/** Official flags with no trompe equivalent, and what to do instead. */
export const OFFICIAL_WITHOUT_EQUIVALENT: Readonly<Record<string, string>> = {
  "pred-only": "run.py's --pred-only is trompe's default; --side-by-side gives run.py's RGB|depth default",
  "local-rank": "trompe trains on one device; multi-GPU training is the official torchrun trainer's",
  port: "trompe trains on one device; multi-GPU training is the official torchrun trainer's",
};

/** The official names that apply to a task with these options (the alias's target is one of them). */
export function officialNamesFor(options: Readonly<Record<string, unknown>>): OfficialName[] {
  return OFFICIAL_NAMES.filter((n) => n.trompe in options && !(n.official in options));
}

/** The --help section listing the official names a task accepts; empty when it accepts none. */
export function officialNamesHelp(options: Readonly<Record<string, unknown>>): string {
  const names = officialNamesFor(options);
  const values = OFFICIAL_VALUES.filter((v) => v.flag in options);
  if (names.length === 0 && values.length === 0) return "";
  const lines = [
    ...names.map((n) => [`--${n.official}`, `--${n.trompe}${n.value ? ` ${n.value}` : ""}`, n.scripts]),
    ...values.map((v) => [`--${v.flag} ${v.official}`, `--${v.flag} ${v.trompe}`, v.scripts]),
  ].map(([official, trompe, scripts]) => `  ${official.padEnd(20)} is ${trompe} (${scripts})`);
  return `\n\nThe official scripts' names are accepted too:\n${lines.join("\n")}`;
}
