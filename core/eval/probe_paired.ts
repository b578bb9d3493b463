/**
 * The probe's paired reading: every art paste against the blank canvas pasted in exactly the same pose (same
 * frame, repeat, size, rotation, position, shape and border — core/eval/probe.ts checks the poses are equal
 * before it calls them a pair), so the model's own non-flatness over that spot cancels and what is left is
 * what the picture does. Per level and size: the mean paired difference art − blank in flatness error and in
 * the fooled verdict, with 95 % t intervals (deterministic); and the study's acceptance criteria (issue 20,
 * item 3) read off the pairs: at large pastes the art's flatness error ≥ 2× the blank's and its fooled rate
 * ≥ the blank's + 30 points; small pastes fool the model rarely.
 */
import type { ProbeRecord } from "./probe.ts";

/** A mean with its 95 % interval (Student t over the n values; the bounds are null for one value). */
export interface Interval {
  readonly mean: number;
  readonly low: number | null;
  readonly high: number | null;
  readonly n: number;
}

/** Two-sided 95 % Student t quantiles t(0.975, df) for df = 1…30. */
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/** t(0.975, df): the table up to 30, beyond it the Cornish–Fisher expansion about z (within 1e-4). */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30) return T975[Math.floor(df) - 1];
  const z = 1.959963984540054, z3 = z ** 3, z5 = z ** 5, z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) +
    (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

/** Mean and 95 % t interval of `xs`; null when empty. */
export function meanInterval(xs: readonly number[]): Interval | null {
  const n = xs.length;
  if (n === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, low: null, high: null, n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * sd / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half, n };
}

/** The same pose, as a string to compare: what makes a blank the control of an art paste. */
export function poseKey(r: Pick<ProbeRecord, "frame" | "repeat" | "size" | "pose">): string {
  return JSON.stringify([r.frame, r.repeat, r.size, r.pose ?? null]);
}

/** One art paste and the blank pasted in the identical pose. */
export interface Pair {
  readonly art: ProbeRecord;
  readonly blank: ProbeRecord;
}

/**
 * Art records (level > 0) joined with the blank record (level 0) of the same frame, repeat, size and pose.
 * Art records without such a blank (no pose recorded, a blank that was rejected, a pose that differs) are
 * counted as unpaired and left out of every paired figure.
 */
export function pairTrials(records: readonly ProbeRecord[]): { pairs: Pair[]; unpaired: ProbeRecord[] } {
  const blanks = new Map<string, ProbeRecord>();
  for (const r of records) if (r.level === 0 && r.pose) blanks.set(poseKey(r), r);
  const pairs: Pair[] = [], unpaired: ProbeRecord[] = [];
  for (const art of records) {
    if (art.level === 0) continue;
    const blank = art.pose ? blanks.get(poseKey(art)) : undefined;
    if (blank && !Number.isNaN(blank.flatnessError) && !Number.isNaN(art.flatnessError)) {
      pairs.push({ art, blank });
    } else unpaired.push(art);
  }
  return { pairs, unpaired };
}

/**
 * The fooled verdict of each side of a pair. Where the picture's own depth is known (`followsArt` not null):
 * fooled = flatness error > threshold AND the prediction follows the picture (correlation ≥ followThreshold);
 * the blank, painted with nothing, is judged against the same picture's depth warped into the same spot
 * (`blankFollowsArt`: a model that bends every region the same way "follows" by chance, and that chance is the
 * control). Where it is not known (pictures without depth), fooled = flatness error > threshold alone.
 */
export function pairVerdict(pair: Pair, followThreshold: number): { art: boolean; blank: boolean } {
  const { art, blank } = pair;
  const known = art.followsArt !== null && art.followsArt !== undefined;
  if (!known) return { art: art.fooled, blank: blank.fooled };
  return {
    art: art.fooled && (art.followsArt as number) >= followThreshold,
    blank: blank.fooled && (art.blankFollowsArt ?? 0) >= followThreshold,
  };
}

export interface PairedCell {
  readonly level: number;
  readonly size: number;
  readonly pairs: number;
  /** Art pastes of this cell with no blank in the same pose (left out). */
  readonly unpaired: number;
  readonly meanArtFlatnessError: number | null;
  readonly meanBlankFlatnessError: number | null;
  /** Mean art / mean blank flatness error over the pairs. */
  readonly flatnessRatio: number | null;
  /** art − blank flatness error, pose by pose. */
  readonly flatnessDiff: Interval | null;
  /** art − blank in the flatness-only verdict (error > threshold), pose by pose (−1, 0 or 1 each). */
  readonly fooledDiff: Interval | null;
  /** art − blank in the full verdict (`pairVerdict`). */
  readonly verdictDiff: Interval | null;
  readonly artVerdictRate: number | null;
  readonly blankVerdictRate: number | null;
  /** Mean correlation of the prediction's relief with the picture's, on the art and on its blank. */
  readonly meanFollowsArt: number | null;
  readonly meanBlankFollowsArt: number | null;
  readonly meanFollowsArtSlope: number | null;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const known = (xs: readonly (number | null | undefined)[]) =>
  xs.filter((x): x is number => x !== null && x !== undefined && Number.isFinite(x));

function summarisePairs(
  pairs: readonly Pair[],
  followThreshold: number,
): Omit<PairedCell, "level" | "size" | "unpaired"> {
  const artError = mean(pairs.map((p) => p.art.flatnessError));
  const blankError = mean(pairs.map((p) => p.blank.flatnessError));
  const verdicts = pairs.map((p) => pairVerdict(p, followThreshold));
  return {
    pairs: pairs.length,
    meanArtFlatnessError: artError,
    meanBlankFlatnessError: blankError,
    flatnessRatio: artError !== null && blankError !== null && blankError > 0 ? artError / blankError : null,
    flatnessDiff: meanInterval(pairs.map((p) => p.art.flatnessError - p.blank.flatnessError)),
    fooledDiff: meanInterval(pairs.map((p) => Number(p.art.fooled) - Number(p.blank.fooled))),
    verdictDiff: meanInterval(verdicts.map((v) => Number(v.art) - Number(v.blank))),
    artVerdictRate: mean(verdicts.map((v) => Number(v.art))),
    blankVerdictRate: mean(verdicts.map((v) => Number(v.blank))),
    meanFollowsArt: mean(known(pairs.map((p) => p.art.followsArt))),
    meanBlankFollowsArt: mean(known(pairs.map((p) => p.art.blankFollowsArt))),
    meanFollowsArtSlope: mean(known(pairs.map((p) => p.art.followsArtSlope))),
  };
}

/** Per art level (1…levels − 1) and size: the paired comparison with the blank. */
export function pairedCells(
  records: readonly ProbeRecord[],
  levels: number,
  sizes: readonly number[],
  followThreshold: number,
): PairedCell[] {
  const { pairs, unpaired } = pairTrials(records);
  const cells: PairedCell[] = [];
  for (let level = 1; level < levels; level++) {
    for (const size of sizes) {
      const mine = pairs.filter((p) => p.art.level === level && p.art.size === size);
      cells.push({
        level,
        size,
        unpaired: unpaired.filter((r) => r.level === level && r.size === size).length,
        ...summarisePairs(mine, followThreshold),
      });
    }
  }
  return cells;
}

/** The study's targets (issue 20, item 3). */
export const CRITERIA = {
  /** Pastes of at least this share of the frame are "large". */
  largeSize: 0.2,
  /** Pastes of at most this share are "small". */
  smallSize: 0.02,
  /** Large art's mean flatness error over the blank's, at least. */
  flatnessRatio: 2,
  /** Large art's fooled rate minus the blank's, at least. */
  fooledExcess: 0.3,
  /** Small art's fooled rate, at most ("fool it rarely"; trompe reads rarely as one paste in ten). */
  smallFooledRate: 0.1,
} as const;

export interface Criterion {
  readonly value: number | null;
  readonly target: number;
  /** "≥" or "≤": how value is held against target. */
  readonly sense: "≥" | "≤";
  readonly met: boolean;
}

export interface ProbeCriteria {
  /** "flatness and follows": the full verdict (art with known depth); "flatness": error > threshold only. */
  readonly verdict: "flatness and follows" | "flatness";
  readonly threshold: number;
  readonly followThreshold: number;
  readonly large: {
    readonly sizes: readonly number[];
    readonly pairs: number;
    readonly meanArtFlatnessError: number | null;
    readonly meanBlankFlatnessError: number | null;
    /** Median art / median blank flatness error: the same ratio, blind to a few exploding fits. */
    readonly medianFlatnessRatio: number | null;
    /** Art's mean flatness error / the blank's, over the pairs. */
    readonly flatnessRatio: Criterion;
    /** Art's fooled rate − the blank's (the verdict above), over the pairs, with its interval. */
    readonly fooledExcess: Criterion & { readonly interval: Interval | null };
    /** The same with the flatness-only verdict, for comparison. */
    readonly flatnessOnlyExcess: Interval | null;
    readonly artFooledRate: number | null;
    readonly blankFooledRate: number | null;
    readonly meanFollowsArt: number | null;
    readonly meanBlankFollowsArt: number | null;
  };
  readonly small: {
    readonly sizes: readonly number[];
    readonly pairs: number;
    /** Art's fooled rate (the verdict above). */
    readonly fooledRate: Criterion;
    readonly blankFooledRate: number | null;
  };
  /** Large art beyond the blank on both counts. */
  readonly fooledBeyondBlank: boolean;
  /** That, and small pastes rarely fooled. */
  readonly met: boolean;
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);

function criterion(value: number | null, target: number, sense: "≥" | "≤"): Criterion {
  return { value, target, sense, met: value !== null && (sense === "≥" ? value >= target : value <= target) };
}

/** The acceptance criteria over every art level's pairs at the large and at the small sizes. */
export function probeCriteria(
  records: readonly ProbeRecord[],
  sizes: readonly number[],
  threshold: number,
  followThreshold: number,
): ProbeCriteria {
  const { pairs } = pairTrials(records);
  const largeSizes = sizes.filter((s) => s >= CRITERIA.largeSize);
  const smallSizes = sizes.filter((s) => s <= CRITERIA.smallSize);
  const large = pairs.filter((p) => largeSizes.includes(p.art.size));
  const small = pairs.filter((p) => smallSizes.includes(p.art.size));
  const l = summarisePairs(large, followThreshold), s = summarisePairs(small, followThreshold);
  const fooledExcess = {
    ...criterion(l.verdictDiff?.mean ?? null, CRITERIA.fooledExcess, "≥"),
    interval: l.verdictDiff,
  };
  const flatnessRatio = criterion(l.flatnessRatio, CRITERIA.flatnessRatio, "≥");
  const fooledRate = criterion(s.artVerdictRate, CRITERIA.smallFooledRate, "≤");
  const withDepth = pairs.some((p) => p.art.followsArt !== null && p.art.followsArt !== undefined);
  return {
    verdict: withDepth ? "flatness and follows" : "flatness",
    threshold,
    followThreshold,
    large: {
      sizes: largeSizes,
      pairs: large.length,
      meanArtFlatnessError: l.meanArtFlatnessError,
      meanBlankFlatnessError: l.meanBlankFlatnessError,
      medianFlatnessRatio: ratio(
        median(large.map((p) => p.art.flatnessError)),
        median(large.map((p) => p.blank.flatnessError)),
      ),
      flatnessRatio,
      fooledExcess,
      flatnessOnlyExcess: l.fooledDiff,
      artFooledRate: l.artVerdictRate,
      blankFooledRate: l.blankVerdictRate,
      meanFollowsArt: l.meanFollowsArt,
      meanBlankFollowsArt: l.meanBlankFollowsArt,
    },
    small: { sizes: smallSizes, pairs: small.length, fooledRate, blankFooledRate: s.blankVerdictRate },
    fooledBeyondBlank: flatnessRatio.met && fooledExcess.met,
    met: flatnessRatio.met && fooledExcess.met && fooledRate.met,
  };
}
