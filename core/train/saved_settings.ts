/**
 * The settings a training run wrote to train.settings.json, read back so `--resume` needs only `--out`:
 * every setting not given again is the run's own.
 */
import { join } from "node:path";
import { z } from "npm:zod@4.6.7";
import { TrompeError } from "../errors.ts";
import { describeFreeze, type FreezePolicy } from "./freeze.ts";

export const SETTINGS_FILE = "train.settings.json";

const SavedSettings = z.object({
  // Runs written before the starting checkpoint was recorded need --weights again.
  weights: z.string().optional(),
  configFile: z.string().nullable().optional(),
  dataset: z.string(),
  root: z.string(),
  split: z.string(),
  valSplit: z.string().nullable(),
  seed: z.number(),
  batch: z.number(),
  imgSize: z.number(),
  freeze: z.union([z.string(), z.object({ kind: z.string() }).loose()]),
  epochs: z.number(),
  lr: z.number(),
  minDepth: z.number().optional(),
  maxSteps: z.number().optional(),
  valEvery: z.number().optional(),
  checkpoint: z.string(),
  workers: z.number(),
  config: z.object({ head: z.string(), maxDepth: z.number().nullable().optional() }).loose(),
});

export type SavedSettings = z.infer<typeof SavedSettings> & { freeze: string };

/** The run's settings, or undefined where `out` holds none (openRun then says there is nothing to resume). */
export async function readSavedSettings(out: string): Promise<SavedSettings | undefined> {
  const path = join(out, SETTINGS_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let parsed;
  try {
    parsed = SavedSettings.safeParse(JSON.parse(text));
  } catch {
    throw new TrompeError("corrupt", "is not JSON", { subject: path });
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrompeError("corrupt", `not a run's settings: ${issue.path.join(".")}: ${issue.message}`, {
      subject: path,
      hint: "resume with every flag given again",
    });
  }
  const freeze = parsed.data.freeze;
  return {
    ...parsed.data,
    freeze: typeof freeze === "string" ? freeze : describeFreeze(freeze as FreezePolicy),
  };
}
