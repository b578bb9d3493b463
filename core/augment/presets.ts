/**
 * Named recipes. The three `seed-*` presets are the original study as its notes describe it (quadrilaterals
 * only, always bordered, the "deepest corner" depth gradient, large regions so the content fools the model);
 * `trompe` answers the failure modes the study observed: plane depth, mixed shapes so "quadrilateral" stops
 * meaning "flat", negatives so "bordered" stops meaning "flat", 20 % clean frames and smaller regions so the
 * background's depth is not drowned out.
 */
import { TrompeError } from "../errors.ts";
import { parseRecipe, type Recipe, type RecipeInput } from "./recipe.ts";

const SEED_COMMON: RecipeInput = {
  shapes: { quad: 1 },
  border: { probability: 1, width: [0.02, 0.1], bevel: [0, 0] },
  depth: { mode: "seed" },
  area: [0.15, 0.45],
};

const PRESETS: Record<string, RecipeInput> = {
  "seed-hypersim-mirror": { ...SEED_COMMON, name: "seed-hypersim-mirror", kinds: { mirror: 1, art: 0 } },
  "seed-hypersim-art": { ...SEED_COMMON, name: "seed-hypersim-art", kinds: { mirror: 0, art: 1 } },
  "seed-vkitti-art": {
    ...SEED_COMMON,
    name: "seed-vkitti-art",
    kinds: { mirror: 0, art: 1 },
    // "Wall paintings" of other vKITTI2 frames with real depth range and something near the camera.
    art: { source: "dataset", minDepthRatio: 3, nearDepth: 15, minNearFraction: 0.05, tries: 8 },
  },
  trompe: {
    name: "trompe",
    kinds: { mirror: 1, art: 1 },
    clean: 0.2,
    negatives: 0.35,
    shapes: { quad: 0.4, ellipse: 0.2, roundrect: 0.25, polygon: 0.15 },
    area: [0.05, 0.25],
    border: { probability: 0.75, width: [0.015, 0.08], bevel: [0, 0.7] },
    depth: { mode: "plane" },
  },
};

/** The names of the built-in augmentation recipes. */
export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);

/** A built-in recipe by name (see PRESET_NAMES). */
export function preset(name: string): Recipe {
  const input = PRESETS[name];
  if (!input) {
    throw new TrompeError("bad-argument", `unknown recipe preset "${name}"`, {
      subject: "--recipe",
      hint: `presets: ${PRESET_NAMES.join(", ")}; or give a recipe JSON file`,
    });
  }
  return parseRecipe(input, `preset ${name}`);
}

/** A preset name, or a JSON file holding a recipe (optionally `{"extends": "preset", ...changes}`). */
export async function loadRecipe(nameOrPath: string): Promise<Recipe> {
  if (PRESETS[nameOrPath]) return preset(nameOrPath);
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(nameOrPath));
  } catch (error) {
    const missing = error instanceof Deno.errors.NotFound;
    throw new TrompeError(
      missing ? "not-found" : "bad-argument",
      missing ? "no such preset or file" : String(error),
      {
        subject: nameOrPath,
        hint: `presets: ${PRESET_NAMES.join(", ")}`,
        cause: error,
      },
    );
  }
  if (json && typeof json === "object" && "extends" in json) {
    const { extends: base, ...changes } = json as Record<string, unknown>;
    if (typeof base !== "string" || !PRESETS[base]) {
      throw new TrompeError("bad-argument", `"extends" must name a preset`, { subject: nameOrPath });
    }
    return parseRecipe({ ...PRESETS[base], ...changes }, nameOrPath);
  }
  return parseRecipe(json, nameOrPath);
}
