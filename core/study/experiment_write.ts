/**
 * An experiment's write-up on disk, as `deno task study` and `deno task demo` both leave it: study.md (the table,
 * the hypotheses checked), study.png (every seed's value per metric), study_sheet.png (the same worst regions
 * across models) and study.json (every number the page shows, and each model's own).
 */
import { join, relative } from "node:path";
import { writeFileAtomic, writeTextFileAtomic } from "../io/atomic.ts";
import { jsonText } from "../io/json.ts";
import { writePng } from "../io/png.ts";
import type { ExperimentResult } from "./experiment.ts";
import { armTable, studyFigure, studyMarkdown, verdicts } from "./experiment_report.ts";

/** The files `writeExperiment` wrote. */
export interface ExperimentFiles {
  readonly markdown: string;
  readonly figure: string;
  readonly sheet: string | null;
  readonly json: string;
}

/**
 * Writes the write-up into `docs`. `out` is the experiment's run folder (its evaluations); `command` is the one
 * command that regenerates the page, quoted at its top.
 */
export async function writeExperiment(
  result: ExperimentResult,
  o: { readonly out: string; readonly docs: string; readonly command: string },
): Promise<ExperimentFiles> {
  await Deno.mkdir(o.docs, { recursive: true });
  const figure = join(o.docs, "study.png");
  await writePng(figure, studyFigure(result));
  const sheetFile = result.heldOut.augmented.files.sheet;
  let sheet: string | null = null;
  if (sheetFile) {
    sheet = join(o.docs, "study_sheet.png");
    await writeFileAtomic(sheet, await Deno.readFile(join(o.out, "eval_augmented", sheetFile)));
  }
  const markdown = join(o.docs, "study.md");
  await writeTextFileAtomic(
    markdown,
    studyMarkdown(result, {
      figure: relative(o.docs, figure),
      sheet: sheet && relative(o.docs, sheet),
      command: o.command,
    }),
  );
  const numbers = {
    settings: result.settings,
    table: armTable(result),
    verdicts: verdicts(result),
    runs: result.runs,
    models: result.models.map((m) => ({
      name: m.name,
      arm: m.arm,
      seed: m.seed,
      checkpoint: m.checkpoint,
      augmented: {
        official: m.augmented.official.mean,
        background: m.augmented.background.mean,
        flat: m.augmented.flat,
      },
      clean: m.clean.official.mean,
      // The clean held-out scenes' real openings (their masks' negatives): the false-flat rate's source.
      cleanOpenings: m.clean.flat,
      probe: { criteria: m.probe.criteria ?? null, paired: m.probe.paired ?? null, cells: m.probe.cells },
    })),
  };
  const json = join(o.docs, "study.json");
  await writeTextFileAtomic(json, jsonText(numbers, 2) + "\n");
  return { markdown, figure, sheet, json };
}
