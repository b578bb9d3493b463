/** The probe report's "Reading" is written from the numbers: a model that is not fooled reads as not fooled. */
import assert from "node:assert/strict";
import type { ProbeCell, ProbeSummary } from "../../core/eval/probe.ts";
import { readingSection } from "../../core/eval/probe_report.ts";

/** A summary with fooled rates per level (blank, flat-looking art, deep-looking art) at 2 % and 30 %. */
function summaryWith(rates: Record<number, [number, number]>): ProbeSummary {
  const names = ["blank canvas (control)", "depth ×1.0–1.5", "depth ×1.6–4.0"];
  const sizes = [0.02, 0.3];
  const cells: ProbeCell[] = Object.entries(rates).flatMap(([level, pair]) =>
    sizes.map((size, i) => ({
      level: Number(level),
      size,
      trials: 10,
      meanArea: size,
      fooled: pair[i] * 10,
      fooledRate: pair[i],
      meanFlatnessError: 0.01,
      meanFlatnessErrorBefore: 0.005,
      meanAbsRel: null,
    }))
  );
  return {
    sizes,
    levels: names.map((name, index) => ({ index, name, depthRatio: [1, 1], pieces: [] })),
    cells,
  } as unknown as ProbeSummary;
}

Deno.test("readingSection: art fooled beyond the blank, most steeply for the deepest level, says so", () => {
  const text = readingSection(summaryWith({ 0: [0, 0.2], 1: [0, 0.1], 2: [0, 0.8] })).join("\n");
  assert.match(
    text,
    /depth ×1\.6–4\.0: fooled 0\.0 % at 2\.0 % of the frame, 80\.0 % at 30\.0 % \(rising by \+80\.0 points\), \+60\.0 points against the blank/,
  );
  assert.match(
    text,
    /1 of 2 art levels are fooled more often than the blank canvas at 30\.0 % \(depth ×1\.6–4\.0 \+60\.0 points\)/,
  );
  assert.match(text, /this probe shows that\./);
});

Deno.test("readingSection: art no more fooled than the blank reads as the paste, not the pictures", () => {
  const text = readingSection(summaryWith({ 0: [0.1, 0.9], 1: [0.1, 0.5], 2: [0.2, 0.6] })).join("\n");
  assert.match(text, /No art level is fooled more often than the blank canvas at 30\.0 %/);
  assert.match(text, /this probe does not show that\./);
  assert.doesNotMatch(text, /this probe shows that/);
});
