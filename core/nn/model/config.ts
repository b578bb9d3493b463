/**
 * Depth Anything V2 model configurations: the four official sizes, the `--config FILE` schema for anything
 * else, and inference of the architecture from a state_dict's shapes. Shapes give every width and the block
 * count; they do not give the attention head count or which blocks feed the decoder, so those come from the
 * official preset with the same encoder (embed dim and depth) or, for a custom size, from a config file.
 */
import { z } from "npm:zod@4.6.7";
import { TrompeError } from "../../errors.ts";
import type { StateDict } from "../../io/pth.ts";
import { PATCH_SIZE } from "../../data/preprocess.ts";

export { PATCH_SIZE };

export const HEAD_KINDS = ["metric", "relative"] as const;
/** A metric head (depth in metres up to max depth) or a relative one (disparity up to scale and shift). */
export type HeadKind = typeof HEAD_KINDS[number];
/** DINOv2's feed-forward: a GELU MLP (fc1/fc2), or the SwiGLU of ViT-g (w12/w3). */
export type FfnKind = "mlp" | "swiglufused";
export type Four = [number, number, number, number];

/** The DPT head's last hidden width (`head_features_2` in the official dpt.py). */
export const HEAD_HIDDEN = 32;

/** A Depth Anything V2 architecture (DINOv2 encoder, DPT head) with its head kind and max depth. */
export interface ModelConfig {
  embedDim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  ffn: FfnKind;
  /** DPT fusion width. */
  features: number;
  /** Channels of the four projected encoder features. */
  outChannels: Four;
  /** Encoder blocks whose outputs feed the decoder. */
  layers: Four;
  /** metric: sigmoid · maxDepth; relative: ReLU (disparity). */
  head: HeadKind;
  maxDepth?: number;
  /** The position-embedding grid is imgSize/14 square. */
  imgSize: number;
  patchSize: typeof PATCH_SIZE;
}

/** Everything in a ModelConfig that the weights determine (the head's kind and range are not in them). */
export type Architecture = Omit<ModelConfig, "head" | "maxDepth">;

export type PresetName = "vits" | "vitb" | "vitl" | "vitg";

const official = (
  embedDim: number,
  depth: number,
  heads: number,
  features: number,
  outChannels: Four,
  layers: Four,
  ffn: FfnKind = "mlp",
): Architecture => ({
  embedDim,
  depth,
  heads,
  mlpRatio: 4,
  ffn,
  features,
  outChannels,
  layers,
  imgSize: 518,
  patchSize: PATCH_SIZE,
});

/** The official sizes (depth_anything_v2/dpt.py `model_configs`, dinov2.py `vit_*`, `intermediate_layer_idx`). */
export const PRESETS: Readonly<Record<PresetName, Architecture>> = {
  vits: official(384, 12, 6, 64, [48, 96, 192, 384], [2, 5, 8, 11]),
  vitb: official(768, 12, 12, 128, [96, 192, 384, 768], [2, 5, 8, 11]),
  vitl: official(1024, 24, 16, 256, [256, 512, 1024, 1024], [4, 11, 17, 23]),
  vitg: official(1536, 40, 24, 384, [1536, 1536, 1536, 1536], [9, 19, 29, 39], "swiglufused"),
};

/** DINOv2's SwiGLUFFNFused shrinks the hidden width to 2/3 and rounds it up to a multiple of 8. */
export function ffnHidden(embedDim: number, mlpRatio: number, ffn: FfnKind): number {
  const hidden = Math.floor(embedDim * mlpRatio);
  return ffn === "mlp" ? hidden : Math.ceil(Math.floor((hidden * 2) / 3) / 8) * 8;
}

const positive = z.number().int().positive();
const four = z.tuple([positive, positive, positive, positive]);

/** `--config FILE`: the reference config.json format (extra fields such as `inputSize` are ignored). */
const ConfigFileSchema = z.object({
  embedDim: positive,
  depth: positive,
  heads: positive,
  mlpRatio: z.number().positive().default(4),
  ffn: z.enum(["mlp", "swiglufused"]).default("mlp"),
  features: positive.refine((f) => f % 2 === 0, "must be even (output_conv1 halves it)"),
  outChannels: four,
  layers: z.tuple([
    z.number().int().min(0),
    z.number().int().min(0),
    z.number().int().min(0),
    z.number().int().min(0),
  ]),
  head: z.enum(HEAD_KINDS),
  maxDepth: z.number().positive().optional(),
  imgSize: positive.refine((s) => s % PATCH_SIZE === 0, `must be a multiple of ${PATCH_SIZE}`).default(518),
}).superRefine((c, ctx) => {
  if (c.embedDim % c.heads !== 0) {
    ctx.addIssue({ code: "custom", path: ["heads"], message: "must divide embedDim" });
  }
  if (c.layers.some((l) => l >= c.depth)) {
    ctx.addIssue({ code: "custom", path: ["layers"], message: `each layer must be below depth ${c.depth}` });
  }
});

/** What a config file holds, for the hint of an error about one. */
const CONFIG_FIELDS =
  "embedDim, depth, heads, features, outChannels [4], layers [4], head (metric | relative), " +
  "maxDepth (metric), optionally mlpRatio, ffn, imgSize";

/** A field's value at a path of the parsed JSON (undefined where absent). */
function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  return value;
}

/** Checks a config's JSON and returns it as a ModelConfig; each wrong field is named in one error. */
export function parseConfig(json: unknown, source: string): ModelConfig {
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    // One readable phrase per field: "head is missing", "features: must be even", not the schema's wording.
    const issues = parsed.error.issues.map((i) => {
      const field = i.path.join(".") || "the file";
      return i.path.length > 0 && valueAt(json, i.path) === undefined
        ? `${field} is missing`
        : `${field}: ${i.message}`;
    }).join("; ");
    throw new TrompeError("bad-argument", `model config: ${issues}`, {
      subject: source,
      hint: `a config holds ${CONFIG_FIELDS}; head and maxDepth may come from --head and --max-depth`,
    });
  }
  const c = parsed.data;
  return { ...c, outChannels: c.outChannels as Four, layers: c.layers as Four, patchSize: PATCH_SIZE };
}

/** The official preset with this encoder, if there is one. */
export function presetFor(embedDim: number, depth: number): PresetName | undefined {
  return (Object.keys(PRESETS) as PresetName[]).find((n) =>
    PRESETS[n].embedDim === embedDim && PRESETS[n].depth === depth
  );
}

export interface InferredArchitecture {
  architecture: Architecture;
  preset: PresetName;
}

/** What the weights' shapes say by themselves: everything but the head count and the decoder's layers. */
export type MeasuredArchitecture = Omit<Architecture, "heads" | "layers">;

export function measureArchitecture(stateDict: StateDict, source: string): MeasuredArchitecture {
  const shapeOf = (name: string): number[] => {
    const t = stateDict.get(name);
    if (!t) {
      throw new TrompeError("corrupt", `not a Depth Anything V2 state_dict: it has no ${name}`, {
        subject: source,
      });
    }
    return t.shape;
  };
  const [, tokens, embedDim] = shapeOf("pretrained.pos_embed");
  const grid = Math.round(Math.sqrt(tokens - 1));
  if (grid * grid !== tokens - 1) {
    throw new TrompeError("unsupported", `pretrained.pos_embed has ${tokens} rows, not 1 + a square grid`, {
      subject: source,
    });
  }
  const patch = shapeOf("pretrained.patch_embed.proj.weight");
  if (patch[2] !== PATCH_SIZE || patch[3] !== PATCH_SIZE) {
    throw new TrompeError("unsupported", `patch size ${patch[2]}×${patch[3]}; Depth Anything V2 uses 14`, {
      subject: source,
    });
  }
  const blocks = new Set<number>();
  for (const name of stateDict.keys()) {
    const m = /^pretrained\.blocks\.(\d+)\./.exec(name);
    if (m) blocks.add(Number(m[1]));
  }
  const depth = blocks.size;
  const swiglu = stateDict.has("pretrained.blocks.0.mlp.w12.weight");
  const ffn: FfnKind = swiglu ? "swiglufused" : "mlp";
  const hidden = swiglu
    ? shapeOf("pretrained.blocks.0.mlp.w12.weight")[0] / 2
    : shapeOf("pretrained.blocks.0.mlp.fc1.weight")[0];
  // SwiGLU's stored width is rounded, so only DINOv2's ratio (4) is recognised; anything else needs --config.
  if (swiglu && hidden !== ffnHidden(embedDim, 4, ffn)) {
    throw new TrompeError(
      "unsupported",
      `SwiGLU hidden width ${hidden} is not DINOv2's for embed ${embedDim}`,
      {
        subject: source,
        hint: "pass --config FILE with mlpRatio and ffn",
      },
    );
  }
  const mlpRatio = swiglu ? 4 : hidden / embedDim;
  const features = shapeOf("depth_head.scratch.layer1_rn.weight")[0];
  const outChannels = [0, 1, 2, 3].map((i) => shapeOf(`depth_head.projects.${i}.weight`)[0]) as Four;
  return {
    embedDim,
    depth,
    mlpRatio,
    ffn,
    features,
    outChannels,
    imgSize: grid * PATCH_SIZE,
    patchSize: PATCH_SIZE,
  };
}

/** Reads the architecture off the weights' shapes; heads and layers need a matching official preset. */
export function inferConfig(stateDict: StateDict, source: string): InferredArchitecture {
  const measured = measureArchitecture(stateDict, source);
  const { embedDim, depth } = measured;
  const preset = presetFor(embedDim, depth);
  if (!preset) {
    throw new TrompeError(
      "unsupported",
      `custom model size (embed ${embedDim}, depth ${depth}): the attention heads and the decoder's encoder ` +
        "layers are not stored in the weights",
      { subject: source, hint: "pass --config FILE with heads and layers (see the reference config.json)" },
    );
  }
  const { heads, layers } = PRESETS[preset];
  return { preset, architecture: { ...measured, heads, layers: [...layers] } };
}
