/**
 * What an augmented set was made with (`.trompe/settings.json`, written before its first frame): the dataset,
 * root, recipe, seed and art folder. A later run into the same folder — a resume, another shard, a rerun —
 * must share them, or the set would mix frames of two settings under one recipe.json (a resume with another
 * --root even shrank the set to the frames the two roots share). A folder holding anything else is not a set
 * to add to, unless the user says so (--force).
 */
import { join } from "node:path";
import { TrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { STATE_DIR } from "./manifest.ts";
import type { Recipe } from "./recipe.ts";

export interface SetSettings {
  readonly dataset: string;
  readonly root: string;
  readonly recipe: Recipe;
  readonly seed: number;
  readonly art: string | null;
}

const FLAGS: Record<keyof SetSettings, string> = {
  dataset: "--dataset",
  root: "--root",
  recipe: "--recipe",
  seed: "--seed",
  art: "--art",
};

/** "--seed was 1, now 2" for each setting that differs (a recipe by name, or by the fields that differ). */
export function settingChanges(held: SetSettings, now: SetSettings): string[] {
  const changes: string[] = [];
  for (const key of Object.keys(FLAGS) as (keyof SetSettings)[]) {
    if (key === "recipe") continue;
    const a = JSON.stringify(held[key]), b = JSON.stringify(now[key]);
    if (a !== b) changes.push(`${FLAGS[key]} was ${a}, now ${b}`);
  }
  if (held.recipe.name !== now.recipe.name) {
    changes.push(`--recipe was ${held.recipe.name}, now ${now.recipe.name}`);
  } else {
    const fields = (Object.keys(now.recipe) as (keyof Recipe)[]).filter((field) =>
      JSON.stringify(held.recipe[field]) !== JSON.stringify(now.recipe[field])
    );
    if (fields.length) changes.push(`--recipe ${now.recipe.name} differs in ${fields.join(", ")}`);
  }
  return changes;
}

/** Anything in `out` besides trompe's own state folder (which a shard starting beside this one may have made). */
async function holdsOtherFiles(out: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(out)) if (entry.name !== STATE_DIR) return true;
  } catch {
    // no folder yet
  }
  return false;
}

/** Records the settings of a new set, or checks a run into an existing set against them; throws naming what differs. */
export async function holdSettings(out: string, settings: SetSettings, force: boolean): Promise<void> {
  const path = join(out, STATE_DIR, "settings.json");
  let text: string | null = null;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    // not a set made with recorded settings
  }
  if (text === null) {
    if (!force && await holdsOtherFiles(out)) {
      throw new TrompeError("bad-argument", "is not empty and is not an augmented set made by trompe", {
        subject: out,
        hint: "choose a new or empty --out, or pass --force to write the set into this folder",
      });
    }
    await writeTextFileAtomic(path, JSON.stringify(settings, null, 2) + "\n");
    return;
  }
  let held: SetSettings;
  try {
    held = JSON.parse(text);
  } catch {
    throw new TrompeError("corrupt", "is not JSON", { subject: path, hint: "augment into a fresh --out" });
  }
  const changes = settingChanges(held, settings);
  if (changes.length > 0) {
    throw new TrompeError("bad-argument", `this set was made with other settings: ${changes.join("; ")}`, {
      subject: out,
      hint: "repeat the first run's settings to resume or extend it, or augment into a fresh --out",
    });
  }
}
