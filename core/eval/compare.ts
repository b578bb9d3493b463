/**
 * Checkpoint comparison, the study's "norms of keys" diagnosis: how far fine-tuning moved each parameter
 * tensor (‖B − A‖ / ‖A‖), and each block of the network (the same over all its tensors together), so a frozen
 * encoder shows as exact zeros, and a run that wrecked one block stands out. Works on any two checkpoints with
 * state_dict keys (.pth, official or train.py's; .safetensors), needing no config, head or max depth.
 */
import { extname } from "node:path";
import { TrompeError } from "../errors.ts";
import type { RasterU8 } from "../io/raster.ts";
import { readPth } from "../io/pth.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { barChart } from "../plot/charts.ts";

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The tensors of a checkpoint by key (.pth `module.` prefixes removed by the reader). */
export async function readParameters(path: string): Promise<Map<string, Tensor>> {
  const ext = extname(path).toLowerCase();
  if (ext === ".safetensors") {
    const st = await readSafetensors(path);
    return new Map(st.names().map((n) => [n, { shape: st.shape(n), data: st.float32(n) }]));
  }
  if (ext === ".pth" || ext === ".pt") return (await readPth(path)).tensors;
  throw new TrompeError("unsupported", `unknown checkpoint extension "${ext}"`, {
    subject: path,
    hint: "compare reads .safetensors and .pth",
  });
}

export interface KeyChange {
  readonly key: string;
  readonly group: string;
  readonly size: number;
  readonly normA: number;
  readonly normB: number;
  /** ‖B − A‖₂. */
  readonly normDelta: number;
  /** ‖B − A‖₂ / ‖A‖₂; null when ‖A‖ = 0 (a zero-initialised tensor). */
  readonly relative: number | null;
}

export interface GroupChange {
  readonly group: string;
  readonly keys: number;
  readonly size: number;
  readonly normA: number;
  readonly normB: number;
  readonly normDelta: number;
  readonly relative: number | null;
  /** The largest relative change of one of its tensors. */
  readonly maxKeyRelative: number | null;
}

export interface Comparison {
  readonly keys: readonly KeyChange[];
  readonly groups: readonly GroupChange[];
  readonly onlyInA: readonly string[];
  readonly onlyInB: readonly string[];
  readonly shapeMismatch: readonly { key: string; a: readonly number[]; b: readonly number[] }[];
}

/**
 * The block a key belongs to: `pretrained.blocks.7`, `depth_head.scratch.refinenet2`, `depth_head.projects`,
 * `pretrained.patch_embed`, `pretrained.cls_token` … (three components under `blocks`/`scratch`, else two).
 */
export function blockOf(key: string): string {
  const parts = key.split(".");
  const depth = (parts[1] === "blocks" || parts[1] === "scratch") && parts.length > 3 ? 3 : 2;
  return parts.slice(0, depth).join(".");
}

/** Blocks in the order the network runs them; within a kind, numerically (blocks.2 before blocks.10). */
const RUN_ORDER = [
  /^pretrained\.(cls_token|register_tokens|mask_token|pos_embed|patch_embed)/,
  /^pretrained\.blocks\./,
  /^pretrained\./,
  /^depth_head\.projects/,
  /^depth_head\.resize_layers/,
  /^depth_head\.scratch\.layer/,
  /^depth_head\.scratch\.refinenet/,
  /^depth_head\./,
];

function blockOrder(a: string, b: string): number {
  const rank = (g: string) => {
    const i = RUN_ORDER.findIndex((re) => re.test(g));
    return i < 0 ? RUN_ORDER.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b, "en", { numeric: true });
}

export function compareParameters(a: Map<string, Tensor>, b: Map<string, Tensor>): Comparison {
  const keys: KeyChange[] = [];
  const shapeMismatch: Comparison["shapeMismatch"][number][] = [];
  for (const [key, ta] of a) {
    const tb = b.get(key);
    if (!tb) continue;
    if (ta.shape.length !== tb.shape.length || ta.shape.some((d, i) => d !== tb.shape[i])) {
      shapeMismatch.push({ key, a: ta.shape, b: tb.shape });
      continue;
    }
    let sa = 0, sb = 0, sd = 0;
    for (let i = 0; i < ta.data.length; i++) {
      const x = ta.data[i], y = tb.data[i];
      sa += x * x;
      sb += y * y;
      sd += (y - x) * (y - x);
    }
    const normA = Math.sqrt(sa), normDelta = Math.sqrt(sd);
    keys.push({
      key,
      group: blockOf(key),
      size: ta.data.length,
      normA,
      normB: Math.sqrt(sb),
      normDelta,
      relative: normA > 0 ? normDelta / normA : null,
    });
  }
  const byGroup = new Map<string, KeyChange[]>();
  for (const k of keys) byGroup.set(k.group, [...(byGroup.get(k.group) ?? []), k]);
  const groups = [...byGroup.keys()].sort(blockOrder).map((group): GroupChange => {
    const members = byGroup.get(group)!;
    const sq = (f: (k: KeyChange) => number) => Math.sqrt(members.reduce((s, k) => s + f(k) ** 2, 0));
    const normA = sq((k) => k.normA), normDelta = sq((k) => k.normDelta);
    const rels = members.map((k) => k.relative).filter((r): r is number => r !== null);
    return {
      group,
      keys: members.length,
      size: members.reduce((s, k) => s + k.size, 0),
      normA,
      normB: sq((k) => k.normB),
      normDelta,
      relative: normA > 0 ? normDelta / normA : null,
      maxKeyRelative: rels.length ? Math.max(...rels) : null,
    };
  });
  return {
    keys,
    groups,
    onlyInA: [...a.keys()].filter((k) => !b.has(k)),
    onlyInB: [...b.keys()].filter((k) => !a.has(k)),
    shapeMismatch,
  };
}

function g(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "–";
  return v === 0
    ? "0"
    : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-4
    ? v.toExponential(3)
    : Number(v.toPrecision(4)).toString();
}

/** The comparison as markdown: blocks, then the `top` tensors that moved most (relative), then key problems. */
export function comparisonMarkdown(c: Comparison, nameA: string, nameB: string, top = 20): string {
  const out = [
    `# Parameter change: ${nameA} → ${nameB}`,
    "",
    `${c.keys.length} tensors compared in ${c.groups.length} blocks. Relative change = ‖B − A‖₂ / ‖A‖₂; a block's ` +
    "is over all its tensors together.",
    "",
    "| block | tensors | parameters | ‖A‖ | ‖B‖ | ‖B − A‖ | relative change | largest tensor change |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...c.groups.map((r) =>
      `| ${r.group} | ${r.keys} | ${r.size} | ${g(r.normA)} | ${g(r.normB)} | ${g(r.normDelta)} | ${
        g(r.relative)
      } | ${g(r.maxKeyRelative)} |`
    ),
    "",
  ];
  const moved = [...c.keys].sort((x, y) => (y.relative ?? -1) - (x.relative ?? -1)).slice(0, top);
  out.push(
    `## The ${moved.length} tensors that changed most`,
    "",
    "| key | shape size | ‖A‖ | ‖B‖ | relative change |",
    "|---|---:|---:|---:|---:|",
    ...moved.map((k) => `| ${k.key} | ${k.size} | ${g(k.normA)} | ${g(k.normB)} | ${g(k.relative)} |`),
    "",
  );
  const unchanged = c.keys.filter((k) => k.normDelta === 0).length;
  out.push(`${unchanged} of ${c.keys.length} tensors are bit-for-bit unchanged.`, "");
  if (c.onlyInA.length || c.onlyInB.length || c.shapeMismatch.length) {
    out.push("## Keys that do not match", "");
    for (const k of c.onlyInA) out.push(`- only in ${nameA}: \`${k}\``);
    for (const k of c.onlyInB) out.push(`- only in ${nameB}: \`${k}\``);
    for (const m of c.shapeMismatch) out.push(`- \`${m.key}\`: [${m.a}] vs [${m.b}]`);
    out.push("");
  }
  return out.join("\n");
}

export const CHART_SCALES = ["auto", "linear", "log"] as const;
export type ChartScale = (typeof CHART_SCALES)[number];

/**
 * Relative change by block as bars, names shortened (`blocks.i`, `head.refinenet2`) to stay readable. A
 * fine-tune moves the head orders of magnitude more than the encoder: "auto" draws a log axis when the
 * changes span 100× or more, so the encoder's blocks do not vanish next to the head's.
 */
export function comparisonChart(
  c: Comparison,
  nameA: string,
  nameB: string,
  scale: ChartScale = "auto",
): RasterU8 {
  const values = c.groups.map((r) => r.relative);
  const positive = values.filter((v): v is number => v !== null && v > 0);
  const spread = positive.length ? Math.max(...positive) / Math.min(...positive) : 1;
  const log = scale === "log" || (scale === "auto" && spread >= 100);
  return barChart({
    title: `Relative parameter change by block: ${nameA} → ${nameB}${log ? " (log scale)" : ""}`,
    yLabel: "relative change: norm(B − A) / norm(A)",
    categories: c.groups.map((r) =>
      r.group.replace(/^pretrained\./, "").replace(/^depth_head\.(scratch\.)?/, "head.")
    ),
    series: [{ name: "relative change", values }],
    width: Math.max(720, 80 + 34 * c.groups.length),
    height: 560,
    yScale: log ? "log" : "linear",
  }).image;
}
