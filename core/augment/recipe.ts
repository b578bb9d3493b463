/**
 * Recipes: everything that decides what an augmented set looks like, as JSON validated by zod. A recipe file
 * may give only what it changes; the resolved recipe (all defaults filled in) is written to `recipe.json` with
 * the set, so a set can be remade from its own folder.
 */
import { z } from "npm:zod@4.6.7";
import { TrompeError } from "../errors.ts";

const range = (lo: number, hi: number) =>
  z.tuple([z.number().min(lo).max(hi), z.number().min(lo).max(hi)])
    .refine(([a, b]) => a <= b, { message: "range must be [low, high] with low ≤ high" });
const weight = z.number().min(0);
const rgb = z.tuple([
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
]);

type Range = [number, number];

/** A resolved recipe: every field present, defaults filled in (what `recipe.json` holds). */
export interface Recipe {
  name: string;
  kinds: { mirror: number; art: number };
  clean: number;
  negatives: number;
  shapes: { quad: number; ellipse: number; roundrect: number; polygon: number };
  cornerRadius: Range;
  polygonVertices: Range;
  rotation: { yaw: Range; pitch: Range; roll: Range };
  area: Range;
  border: { probability: number; width: Range; palette: [number, number, number][]; bevel: Range };
  depth: { mode: "plane" | "seed" | "constant"; ring: number };
  art: {
    source: "pool" | "dataset";
    minDepthRatio: number;
    nearDepth: number;
    minNearFraction: number;
    tries: number;
  };
  mirror: { width: Range; height: Range };
}

/** What a recipe file may contain: any subset of the fields, at any depth. */
export type RecipeInput = {
  [K in keyof Recipe]?: Recipe[K] extends unknown[] ? Recipe[K]
    : Recipe[K] extends object ? Partial<Recipe[K]>
    : Recipe[K];
};

// Typed by the interfaces above (written out, so the package's public types need no inference from zod).
export const RecipeSchema: z.ZodType<Recipe, RecipeInput> = z.object({
  name: z.string().default("custom"),
  /** Relative frequency of each kind of pasted object. */
  kinds: z.object({ mirror: weight.default(0), art: weight.default(1) }).strict()
    .refine((k) => k.mirror + k.art > 0, { message: "at least one kind needs a positive weight" })
    .default({ mirror: 0, art: 1 }),
  /** Fraction of frames copied unaugmented (mask all 0), so the set still teaches plain scenes. */
  clean: z.number().min(0).max(1).default(0),
  /** Probability that an augmented frame also gets a negative: a border around real depth (mask 3). */
  negatives: z.number().min(0).max(1).default(0),
  shapes: z.object({
    quad: weight.default(1),
    ellipse: weight.default(0),
    roundrect: weight.default(0),
    polygon: weight.default(0),
  }).strict().refine((s) => s.quad + s.ellipse + s.roundrect + s.polygon > 0, {
    message: "at least one shape needs a positive weight",
  }).default({ quad: 1, ellipse: 0, roundrect: 0, polygon: 0 }),
  /** roundrect corner radius as a fraction of the shorter half-side. */
  cornerRadius: range(0, 1).default([0.1, 0.5]),
  polygonVertices: z.tuple([z.number().int().min(3), z.number().int().min(3)]).default([5, 8]),
  /** Rotation of the picture plane in degrees (|yaw|, |pitch| < 80 keeps it facing the camera). */
  rotation: z.object({
    yaw: range(-80, 80).default([-35, 35]),
    pitch: range(-80, 80).default([-20, 20]),
    roll: range(-180, 180).default([-8, 8]),
  }).strict().default({ yaw: [-35, 35], pitch: [-20, 20], roll: [-8, 8] }),
  /** Pasted area (picture + border, before perspective) as a fraction of the frame. */
  area: range(0.001, 0.9).default([0.08, 0.3]),
  border: z.object({
    probability: z.number().min(0).max(1).default(0.8),
    /** Width as a fraction of the picture's shorter side. */
    width: range(0, 0.5).default([0.02, 0.08]),
    /** Colours to draw from; empty = any colour. */
    palette: z.array(rgb).default([]),
    bevel: range(0, 1).default([0, 0.6]),
  }).strict().default({ probability: 0.8, width: [0.02, 0.08], palette: [], bevel: [0, 0.6] }),
  depth: z.object({
    mode: z.enum(["plane", "seed", "constant"]).default("plane"),
    /** Ring width in pixels (at 1024 px wide; scaled with the frame) for fitting the wall. */
    ring: z.number().int().min(1).max(64).default(8),
  }).strict().default({ mode: "plane", ring: 8 }),
  art: z.object({
    /** `pool`: a folder of JPEG/PNG images (--art); `dataset`: other frames of the same dataset. */
    source: z.enum(["pool", "dataset"]).default("pool"),
    /** dataset: the 95th / 5th percentile of the source's depth must reach this ratio (real depth range). */
    minDepthRatio: z.number().min(1).default(1),
    /** dataset: at least `minNearFraction` of the source's valid pixels nearer than `nearDepth` metres. */
    nearDepth: z.number().positive().default(1e9),
    minNearFraction: z.number().min(0).max(1).default(0),
    /** dataset: candidates tried before settling for the best one seen. */
    tries: z.number().int().min(1).max(64).default(8),
  }).strict().default({ source: "pool", minDepthRatio: 1, nearDepth: 1e9, minNearFraction: 0, tries: 8 }),
  mirror: z.object({
    /** Size of the mirrored source rectangle as a fraction of the half-frame's width and of the height. */
    width: range(0.1, 1).default([0.4, 0.9]),
    height: range(0.1, 1).default([0.4, 0.9]),
  }).strict().default({ width: [0.4, 0.9], height: [0.4, 0.9] }),
}).strict();

/** Validates a recipe (any subset of fields), filling defaults; errors name the field at fault. */
export function parseRecipe(input: unknown, source: string): Recipe {
  const result = RecipeSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  throw new TrompeError("bad-argument", `invalid recipe: ${where}: ${issue.message}`, {
    subject: source,
    hint: "see `deno task augment --help` for the recipe fields",
  });
}
