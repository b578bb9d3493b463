/**
 * Loading and saving Depth Anything V2 checkpoints (.safetensors and .pth) with the configuration that makes
 * them usable. Relative and metric checkpoints have identical keys and the official files record neither
 * the head kind nor max_depth; running a metric model as relative, or with the wrong max_depth, gives
 * "constant max depth" maps. So the configuration comes from, in order: trompe's own safetensors metadata,
 * `--config FILE`, or the shapes plus an explicit `--head`/`--max-depth` (or an official file name that
 * says them) — and every assumption is reported in `notes`, never made silently.
 */
import { basename, extname } from "node:path";
import { TrompeError } from "../../errors.ts";
import { readPth, type StateDict, writePth } from "../../io/pth.ts";
import { readSafetensors, type SafetensorsFile, writeSafetensors } from "../../io/safetensors.ts";
import { ffnHidden, HEAD_HIDDEN, type HeadKind, inferConfig, type ModelConfig } from "./config.ts";
import { readConfigFile } from "./config_file.ts";
import { requireFiniteWeights } from "./finite.ts";
import { configFromMetadata, METADATA, stateDictFromSafetensors } from "./state_dict.ts";

export type { NamedTensor, StateDict } from "../../io/pth.ts";

/** Where a trompe checkpoint came from: parent checkpoint, data, recipe, steps (free-form beyond those). */
export interface Provenance {
  parent?: string;
  data?: string;
  recipe?: string;
  steps?: number;
  [key: string]: unknown;
}

/** What the command line may say about a checkpoint that does not record it. */
export interface CheckpointOverrides {
  /** `--config FILE`. */
  configFile?: string;
  /** `--head`. */
  head?: HeadKind;
  /** `--max-depth`. */
  maxDepth?: number;
}

/** A checkpoint read with its configuration: what `loadCheckpoint` returns. */
export interface LoadedCheckpoint {
  config: ModelConfig;
  stateDict: StateDict;
  /** What was assumed or taken from where, for the user to see. */
  notes: string[];
  provenance?: Provenance;
}

/** The official state_dict's tensor names and shapes for a configuration, in the official order. */
export function expectedShapes(config: ModelConfig): Map<string, number[]> {
  const C = config.embedDim;
  const F = config.features;
  const out = config.outChannels;
  const grid = config.imgSize / config.patchSize;
  const shapes = new Map<string, number[]>();
  const add = (name: string, shape: number[]) => shapes.set(name, shape);
  const linear = (name: string, outputs: number, inputs: number) => {
    add(`${name}.weight`, [outputs, inputs]);
    add(`${name}.bias`, [outputs]);
  };
  const conv = (name: string, outputs: number, inputs: number, k: number, bias = true) => {
    add(`${name}.weight`, [outputs, inputs, k, k]);
    if (bias) add(`${name}.bias`, [outputs]);
  };
  const norm = (name: string) => {
    add(`${name}.weight`, [C]);
    add(`${name}.bias`, [C]);
  };

  add("pretrained.cls_token", [1, 1, C]);
  add("pretrained.pos_embed", [1, grid * grid + 1, C]);
  add("pretrained.mask_token", [1, C]);
  conv("pretrained.patch_embed.proj", C, 3, config.patchSize);
  const hidden = ffnHidden(C, config.mlpRatio, config.ffn);
  for (let i = 0; i < config.depth; i++) {
    const b = `pretrained.blocks.${i}`;
    norm(`${b}.norm1`);
    linear(`${b}.attn.qkv`, 3 * C, C);
    linear(`${b}.attn.proj`, C, C);
    add(`${b}.ls1.gamma`, [C]);
    norm(`${b}.norm2`);
    if (config.ffn === "mlp") {
      linear(`${b}.mlp.fc1`, hidden, C);
      linear(`${b}.mlp.fc2`, C, hidden);
    } else {
      linear(`${b}.mlp.w12`, 2 * hidden, C);
      linear(`${b}.mlp.w3`, C, hidden);
    }
    add(`${b}.ls2.gamma`, [C]);
  }
  norm("pretrained.norm");
  for (let i = 0; i < 4; i++) conv(`depth_head.projects.${i}`, out[i], C, 1);
  // resize_layers: ×4 and ×2 transposed convs, identity (no weights), a stride-2 conv.
  conv("depth_head.resize_layers.0", out[0], out[0], 4);
  conv("depth_head.resize_layers.1", out[1], out[1], 2);
  conv("depth_head.resize_layers.3", out[3], out[3], 3);
  for (let i = 0; i < 4; i++) conv(`depth_head.scratch.layer${i + 1}_rn`, F, out[i], 3, false);
  for (let i = 1; i <= 4; i++) {
    const r = `depth_head.scratch.refinenet${i}`;
    conv(`${r}.out_conv`, F, F, 1);
    for (const unit of ["resConfUnit1", "resConfUnit2"]) {
      conv(`${r}.${unit}.conv1`, F, F, 3);
      conv(`${r}.${unit}.conv2`, F, F, 3);
    }
  }
  conv("depth_head.scratch.output_conv1", F / 2, F, 3);
  conv("depth_head.scratch.output_conv2.0", HEAD_HIDDEN, F / 2, 3);
  conv("depth_head.scratch.output_conv2.2", 1, HEAD_HIDDEN, 1);
  return shapes;
}

export function expectedKeys(config: ModelConfig): string[] {
  return [...expectedShapes(config).keys()];
}

export interface KeyReport {
  missing: string[];
  unexpected: string[];
  /** Present under the right name with the wrong shape (only when expected shapes are given). */
  wrongShape: { name: string; expected: number[]; actual: number[] }[];
}

/** Compares a state_dict with the expected names (and shapes, when given a map), like a strict load. */
export function checkMissingUnexpected(
  stateDict: StateDict,
  expected: Iterable<string> | ReadonlyMap<string, number[]>,
): KeyReport {
  const shapes = expected instanceof Map ? expected as ReadonlyMap<string, number[]> : undefined;
  const names = new Set<string>(shapes ? shapes.keys() : expected as Iterable<string>);
  const report: KeyReport = {
    missing: [...names].filter((n) => !stateDict.has(n)),
    unexpected: [...stateDict.keys()].filter((n) => !names.has(n)),
    wrongShape: [],
  };
  for (const [name, shape] of shapes ?? []) {
    const actual = stateDict.get(name)?.shape;
    if (actual && actual.join() !== shape.join()) report.wrongShape.push({ name, expected: shape, actual });
  }
  return report;
}

function describeReport(report: KeyReport): string {
  const list = (names: string[]) =>
    names.slice(0, 5).join(", ") + (names.length > 5 ? `, … (${names.length})` : "");
  const parts = [];
  if (report.missing.length) parts.push(`missing ${list(report.missing)}`);
  if (report.unexpected.length) parts.push(`unexpected ${list(report.unexpected)}`);
  if (report.wrongShape.length) {
    const shown = report.wrongShape.slice(0, 5).map((w) =>
      `${w.name} [${w.actual}] (expected [${w.expected}])`
    );
    parts.push(
      `wrong shape ${shown.join(", ")}${
        report.wrongShape.length > 5 ? ` … (${report.wrongShape.length})` : ""
      }`,
    );
  }
  return parts.join("; ");
}

/** What an official file name says about its head: `..._metric_hypersim_vitl.pth` is metric with 20 m. */
export function headFromFileName(
  path: string,
): { head: HeadKind; maxDepth?: number; why: string } | undefined {
  const name = basename(path).toLowerCase();
  if (name.includes("metric_hypersim")) return { head: "metric", maxDepth: 20, why: "metric_hypersim" };
  if (name.includes("metric_vkitti")) return { head: "metric", maxDepth: 80, why: "metric_vkitti" };
  if (/depth_anything_v2_vit[sblg]/.test(name) && !name.includes("metric")) {
    return { head: "relative", why: "depth_anything_v2_vit*" };
  }
  return undefined;
}

function requireMaxDepth(config: ModelConfig, source: string): ModelConfig {
  if (config.head === "relative") return { ...config, maxDepth: undefined };
  if (config.maxDepth === undefined || !(config.maxDepth > 0)) {
    throw new TrompeError(
      "bad-argument",
      "a metric checkpoint needs its max depth, which the file does not record",
      {
        subject: source,
        hint: "pass --max-depth (20 for the Hypersim/indoor models, 80 for the Virtual KITTI/outdoor ones)",
      },
    );
  }
  return config;
}

async function readStateDict(
  path: string,
  notes: string[],
): Promise<{ stateDict: StateDict; st?: SafetensorsFile }> {
  const ext = extname(path).toLowerCase();
  if (ext === ".safetensors") {
    const st = await readSafetensors(path);
    return { stateDict: stateDictFromSafetensors(st), st };
  }
  if (ext === ".pth" || ext === ".pt") {
    const pth = await readPth(path);
    if (pth.kind === "training") {
      notes.push(
        `took the model out of a training checkpoint (epoch ${JSON.stringify(pth.extras.epoch ?? "?")})`,
      );
    }
    return { stateDict: pth.tensors };
  }
  throw new TrompeError("unsupported", `unknown checkpoint extension "${ext}"`, {
    subject: path,
    hint: "trompe reads .safetensors and .pth",
  });
}

function provenanceFromMetadata(st: SafetensorsFile, path: string): Provenance | undefined {
  const json = st.metadata[METADATA.provenance];
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as Provenance;
  } catch {
    throw new TrompeError("corrupt", `${METADATA.provenance} is not JSON`, { subject: path });
  }
}

function checkAgreement(
  config: ModelConfig,
  overrides: CheckpointOverrides,
  where: string,
  path: string,
): void {
  const conflict = (flag: string, given: unknown, recorded: unknown) =>
    new TrompeError("bad-argument", `${flag} ${given} contradicts the ${where}, which says ${recorded}`, {
      subject: path,
      hint: `drop ${flag}: the checkpoint records it`,
    });
  if (overrides.head && overrides.head !== config.head) throw conflict("--head", overrides.head, config.head);
  const recordedDepth = config.head === "metric" ? config.maxDepth : undefined;
  if (
    overrides.maxDepth !== undefined && recordedDepth !== undefined && overrides.maxDepth !== recordedDepth
  ) {
    throw conflict("--max-depth", overrides.maxDepth, config.maxDepth);
  }
}

/** The head kind and range of a checkpoint that does not record them: flags, then an official file name. */
function resolveHead(path: string, overrides: CheckpointOverrides, notes: string[]) {
  const fromName = headFromFileName(path);
  const head = overrides.head ?? fromName?.head;
  if (!head) {
    throw new TrompeError(
      "bad-argument",
      "the checkpoint does not record whether its head is metric or relative (their keys are identical)",
      { subject: path, hint: "pass --head relative, or --head metric with --max-depth N" },
    );
  }
  if (!overrides.head) notes.push(`assumed a ${head} head from the file name (${fromName!.why})`);
  let maxDepth = overrides.maxDepth;
  if (head === "metric" && maxDepth === undefined && fromName?.head === "metric" && fromName.maxDepth) {
    maxDepth = fromName.maxDepth;
    notes.push(
      `assumed max depth ${maxDepth} m from the file name (${fromName.why}); --max-depth overrides it`,
    );
  }
  return { head, maxDepth };
}

/**
 * Reads a checkpoint (.safetensors or .pth) with its configuration, checks the weights fit it and are finite,
 * and says in `notes` what was assumed.
 */
export async function loadCheckpoint(
  path: string,
  overrides: CheckpointOverrides = {},
): Promise<LoadedCheckpoint> {
  const notes: string[] = [];
  const { stateDict, st } = await readStateDict(path, notes);
  let config: ModelConfig;
  const recorded = st && configFromMetadata(st, path);
  if (recorded) {
    checkAgreement(recorded, overrides, "file's trompe metadata", path);
    if (overrides.configFile) {
      notes.push(`ignored --config ${overrides.configFile}: the file records its own config`);
    }
    notes.push("config, head and max depth from the file's trompe metadata");
    config = recorded;
  } else if (overrides.configFile) {
    const file = await readConfigFile(overrides.configFile, overrides);
    checkAgreement(file, overrides, `config file ${overrides.configFile}`, path);
    config = { ...file, maxDepth: file.maxDepth ?? overrides.maxDepth };
    notes.push(`config from ${overrides.configFile}`);
  } else {
    const { architecture, preset } = inferConfig(stateDict, path);
    notes.push(
      `architecture inferred from the weights' shapes: ${preset} (heads and layers from the official preset)`,
    );
    config = { ...architecture, ...resolveHead(path, overrides, notes) };
  }
  config = requireMaxDepth(config, path);
  const report = checkMissingUnexpected(stateDict, expectedShapes(config));
  if (report.missing.length || report.unexpected.length || report.wrongShape.length) {
    throw new TrompeError("shape-mismatch", `the weights do not fit the config: ${describeReport(report)}`, {
      subject: path,
      hint: "check --config (or the model size) against the checkpoint",
    });
  }
  requireFiniteWeights(stateDict, path, "the run that wrote it diverged: its depth would be meaningless");
  return { config, stateDict, notes, provenance: st && provenanceFromMetadata(st, path) };
}

/** A model to save: its config, weights, provenance and stored float type. */
export interface CheckpointToSave {
  config: ModelConfig;
  stateDict: StateDict;
  provenance?: Provenance;
  /** safetensors: the stored float type (default F32; F16 halves the file, for shipping a trained model). */
  dtype?: "F32" | "F16";
}

/**
 * Writes `.safetensors` with trompe's metadata (config, head, max depth, provenance), or an official-format
 * `.pth` by extension. Returns notes: a .pth cannot carry the config, so reloading it needs the flags again.
 */
export async function saveCheckpoint(path: string, checkpoint: CheckpointToSave): Promise<string[]> {
  const { config, stateDict, provenance } = checkpoint;
  // The last line of defence against a diverged run: a NaN checkpoint is never written under any name.
  requireFiniteWeights(stateDict, path, "not saved: the weights diverged");
  const ext = extname(path).toLowerCase();
  if (ext === ".pth" || ext === ".pt") {
    await writePth(path, stateDict);
    const flags = config.head === "metric"
      ? `--head metric --max-depth ${config.maxDepth}`
      : "--head relative";
    return [
      `${basename(path)} is in the official format, which does not record the head: reload it with ${flags}`,
    ];
  }
  if (ext !== ".safetensors") {
    throw new TrompeError("unsupported", `unknown checkpoint extension "${ext}"`, {
      subject: path,
      hint: "use .safetensors (keeps the config) or .pth (official format)",
    });
  }
  const metadata: Record<string, string> = {
    [METADATA.config]: JSON.stringify(config),
    [METADATA.head]: config.head,
  };
  if (config.head === "metric" && config.maxDepth !== undefined) {
    metadata[METADATA.maxDepth] = String(config.maxDepth);
  }
  if (provenance) metadata[METADATA.provenance] = JSON.stringify(provenance);
  const half = checkpoint.dtype === "F16";
  const tensors = [...stateDict].map(([name, t]) => {
    const data = half ? Float16Array.from(t.data) : t.data;
    // A weight beyond float16's range would be stored as infinity: refuse rather than save a broken model.
    if (half && !data.every((x: number, i: number) => Number.isFinite(x) || !Number.isFinite(t.data[i]))) {
      throw new TrompeError("unsupported", `${name} holds values beyond float16's range (±65504)`, {
        subject: path,
        hint: "save it as float32",
      });
    }
    return { name, dtype: half ? "F16" as const : "F32" as const, shape: t.shape, data };
  });
  await writeSafetensors(path, tensors, metadata);
  return [];
}
