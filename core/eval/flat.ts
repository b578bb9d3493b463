/**
 * trompe's flat-content metrics (DESIGN.md §Flat-content metrics). A plane seen through a pinhole camera has an
 * inverse depth that is exactly affine in pixel coordinates (1/Z = a·u + b·v + c), so a model that sees a pasted
 * mirror or painting as the flat surface it is predicts an inverse depth that an affine fit explains fully.
 *
 * - flatness error: RMS over the region of the relative residual (x − fit)/fit of that least-squares fit
 *   (0 = a perfect plane; 0.02 = the prediction departs from any plane by 2 % of its value, typically);
 * - fooled: flatness error > threshold (default 0.02) on a pasted region (mask 1 mirror, 2 art);
 * - region abs_rel: mean |pred − gt| / gt over the region's valid ground truth (metric depth only);
 * - false-flat rate, for negatives (mask 3: a border around real, non-planar depth): the share of those regions
 *   the model flattens (error ≤ threshold) although the ground truth is not flat (its own error > threshold);
 *   negatives whose ground truth is itself flat (a border around a wall) cannot be judged and are left out;
 * - follows the picture (`followsPicture`, the probe's followsArt): where the pasted picture's own depth is
 *   known, the correlation of the prediction's relative plane-fit residual with the picture's, over the same
 *   pixels — how far the depth the model sees in the region has the shape of the picture's depth.
 *
 * Regions are the 4-connected components of each mask label, so two pictures in one frame are fitted apart.
 */
import { TrompeError } from "../errors.ts";

/** Mask value of a pasted mirror. */
export const MIRROR = 1;
/** Mask value of pasted art (a painting, poster, photo or screen). */
export const ART = 2;
/** Mask value of a negative: a border drawn around real depth, which must not be seen as flat. */
export const NEGATIVE = 3;

/** How flat regions are judged: the fooled threshold, what the prediction is, and the smallest region. */
export interface FlatOptions {
  /** Flatness error above which a region counts as not flat (default 0.02). */
  readonly threshold?: number;
  /** "depth" (metric head: fitted as 1/pred) or "disparity" (relative head: already ∝ inverse depth). */
  readonly kind?: "depth" | "disparity";
  /** Components smaller than this are ignored as specks (default 16). */
  readonly minPixels?: number;
}

export interface PlaneFit {
  /** RMS relative residual; NaN when fewer than 3 usable, non-collinear pixels. */
  readonly error: number;
  /** Usable pixels (finite; positive depth for kind "depth"). */
  readonly pixels: number;
}

/**
 * Least-squares fit of `values` (inverse depth at the given pixel indices of a `width`-wide image) by
 * a·u + b·v + c, and the RMS relative residual. Coordinates are centred and scaled before the 3×3 normal
 * equations are solved, so large images do not make them ill-conditioned.
 */
export function fitInversePlane(
  values: ArrayLike<number>,
  indices: ArrayLike<number>,
  width: number,
): PlaneFit {
  const n = indices.length;
  const residual = planeResiduals(values, indices, width);
  if (residual === null) return { error: NaN, pixels: n };
  let sq = 0;
  for (let k = 0; k < n; k++) sq += residual[k] * residual[k];
  return { error: Math.sqrt(sq / n), pixels: n };
}

/**
 * The relative residuals (x − fit) / fit of the least-squares fit of `values` by a·u + b·v + c at the given
 * pixel indices (the fit `fitInversePlane` makes), in float64; null when the fit is singular.
 */
export function planeResiduals(
  values: ArrayLike<number>,
  indices: ArrayLike<number>,
  width: number,
): Float64Array | null {
  const n = indices.length;
  let mu = 0, mv = 0;
  for (let k = 0; k < n; k++) {
    mu += indices[k] % width;
    mv += Math.floor(indices[k] / width);
  }
  mu /= n;
  mv /= n;
  let scale = 1;
  for (let k = 0; k < n; k++) {
    scale = Math.max(
      scale,
      Math.abs((indices[k] % width) - mu),
      Math.abs(Math.floor(indices[k] / width) - mv),
    );
  }
  // Normal equations M·[a b c] = r for the rows [u v 1].
  const m = new Float64Array(9);
  const r = new Float64Array(3);
  for (let k = 0; k < n; k++) {
    const row = [((indices[k] % width) - mu) / scale, (Math.floor(indices[k] / width) - mv) / scale, 1];
    for (let i = 0; i < 3; i++) {
      r[i] += row[i] * values[k];
      for (let j = 0; j < 3; j++) m[i * 3 + j] += row[i] * row[j];
    }
  }
  const coef = solve3(m, r);
  if (coef === null) return null;
  const residual = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const u = ((indices[k] % width) - mu) / scale;
    const v = (Math.floor(indices[k] / width) - mv) / scale;
    const fit = coef[0] * u + coef[1] * v + coef[2];
    residual[k] = (values[k] - fit) / fit;
  }
  return residual;
}

/** How far a prediction's relief follows a picture's own relief over the same pixels (see `followsPicture`). */
export interface Follows {
  /**
   * Pearson correlation of the two relative plane-fit residuals (−1…1): 1 = the prediction's departure from a
   * plane has the shape of the picture's depth, 0 = unrelated to it (or the prediction is a plane).
   */
  readonly correlation: number;
  /** Regression slope of the prediction's residual on the picture's: 1 = the picture's relief at full strength. */
  readonly slope: number;
  /** RMS relative residuals: the prediction's relief and the picture's (the flatness errors of each). */
  readonly predRelief: number;
  readonly artRelief: number;
  readonly pixels: number;
}

/** Below this RMS relative residual a prediction is a plane to float32 precision: it follows nothing. */
export const PLANE_RELIEF = 1e-5;
/** Below this the picture has no relief of its own to follow, and following cannot be judged. */
export const MIN_ART_RELIEF = 1e-3;

/**
 * Does the predicted inverse depth `pred` over a pasted region follow the picture's own inverse depth `art`
 * (warped into the region, at the same pixel `indices`)? Each is fitted by its own plane (as the flatness error
 * does) and the relative residuals are compared: their correlation says how much of the prediction's
 * non-planar relief has the shape of the picture's depth (its square is the share of the relief's variance
 * the picture explains), the slope how strongly. Null when fewer than 16 pixels, a singular fit, or a picture
 * flatter than MIN_ART_RELIEF; a prediction flatter than PLANE_RELIEF follows with correlation and slope 0.
 */
export function followsPicture(
  pred: ArrayLike<number>,
  art: ArrayLike<number>,
  indices: ArrayLike<number>,
  width: number,
): Follows | null {
  const n = indices.length;
  if (n < 16 || pred.length !== n || art.length !== n) return null;
  const ep = planeResiduals(pred, indices, width), ea = planeResiduals(art, indices, width);
  if (ep === null || ea === null) return null;
  let mp = 0, ma = 0, sp = 0, sa = 0;
  for (let k = 0; k < n; k++) {
    mp += ep[k];
    ma += ea[k];
    sp += ep[k] * ep[k];
    sa += ea[k] * ea[k];
  }
  mp /= n;
  ma /= n;
  const predRelief = Math.sqrt(sp / n), artRelief = Math.sqrt(sa / n);
  if (!(artRelief >= MIN_ART_RELIEF)) return null;
  if (!(predRelief >= PLANE_RELIEF)) return { correlation: 0, slope: 0, predRelief, artRelief, pixels: n };
  let cov = 0, vp = 0, va = 0;
  for (let k = 0; k < n; k++) {
    const dp = ep[k] - mp, da = ea[k] - ma;
    cov += dp * da;
    vp += dp * dp;
    va += da * da;
  }
  if (!(vp > 0 && va > 0)) return { correlation: 0, slope: 0, predRelief, artRelief, pixels: n };
  return { correlation: cov / Math.sqrt(vp * va), slope: cov / va, predRelief, artRelief, pixels: n };
}

/** Gaussian elimination with partial pivoting; null when the system is (near) singular. */
function solve3(m: Float64Array, r: Float64Array): Float64Array | null {
  const a = [0, 1, 2].map((i) => [m[i * 3], m[i * 3 + 1], m[i * 3 + 2], r[i]]);
  const size = Math.max(...m.map(Math.abs));
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let i = col + 1; i < 3; i++) if (Math.abs(a[i][col]) > Math.abs(a[pivot][col])) pivot = i;
    if (Math.abs(a[pivot][col]) <= 1e-12 * size) return null;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let i = col + 1; i < 3; i++) {
      const f = a[i][col] / a[col][col];
      for (let j = col; j < 4; j++) a[i][j] -= f * a[col][j];
    }
  }
  const x = new Float64Array(3);
  for (let i = 2; i >= 0; i--) {
    let s = a[i][3];
    for (let j = i + 1; j < 3; j++) s -= a[i][j] * x[j];
    x[i] = s / a[i][i];
  }
  return x;
}

/** The 4-connected components of each nonzero label, as pixel index lists. */
export function labelRegions(
  labels: Uint8Array,
  width: number,
  height: number,
): { label: number; pixels: Int32Array }[] {
  if (labels.length !== width * height) {
    throw new TrompeError("shape-mismatch", `labels must be ${width}x${height}`);
  }
  const seen = new Uint8Array(labels.length);
  const stack = new Int32Array(labels.length);
  const regions: { label: number; pixels: Int32Array }[] = [];
  for (let start = 0; start < labels.length; start++) {
    const label = labels[start];
    if (label === 0 || seen[start]) continue;
    const pixels: number[] = [];
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top];
      pixels.push(p);
      const x = p % width;
      const neighbours = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, p - width, p + width];
      for (const q of neighbours) {
        if (q >= 0 && q < labels.length && !seen[q] && labels[q] === label) {
          seen[q] = 1;
          stack[top++] = q;
        }
      }
    }
    regions.push({ label, pixels: Int32Array.from(pixels).sort() });
  }
  return regions;
}

/** One masked region's flatness error, its fooled verdict and its abs_rel against the flat ground truth. */
export interface RegionResult {
  readonly label: number;
  readonly pixels: number;
  /** Flatness error of the prediction. */
  readonly flatnessError: number;
  /** flatnessError > threshold (NaN errors are not fooled). */
  readonly fooled: boolean;
  /** Flatness error of the ground truth over its valid pixels (NaN without enough of them). */
  readonly gtFlatnessError: number;
  /** Mean |pred − gt| / gt over valid ground truth; null for disparity or without valid pixels. */
  readonly absRel: number | null;
}

/**
 * Per-region flat metrics of one image. `pred` and `gt` are H×W at the same size (resize the prediction first,
 * as the official evaluation does), `gtValid` 1 where the ground truth is usable, `labels` the augmentation mask.
 */
export function flatRegions(
  pred: ArrayLike<number>,
  gt: ArrayLike<number>,
  gtValid: ArrayLike<number>,
  labels: Uint8Array,
  width: number,
  height: number,
  options: FlatOptions = {},
): RegionResult[] {
  const { threshold = 0.02, kind = "depth", minPixels = 16 } = options;
  const n = width * height;
  if (pred.length !== n || gt.length !== n || gtValid.length !== n) {
    throw new TrompeError("shape-mismatch", `pred, gt and gtValid must all be ${width}x${height}`);
  }
  const results: RegionResult[] = [];
  for (const region of labelRegions(labels, width, height)) {
    if (region.pixels.length < minPixels) continue;
    const predIdx: number[] = [];
    const predInv: number[] = [];
    const gtIdx: number[] = [];
    const gtInv: number[] = [];
    let absRel = 0;
    for (const p of region.pixels) {
      const x = kind === "depth" ? 1 / pred[p] : pred[p];
      if (Number.isFinite(x) && (kind === "disparity" || pred[p] > 0)) {
        predIdx.push(p);
        predInv.push(x);
      }
      if (gtValid[p] === 1 && gt[p] > 0 && Number.isFinite(gt[p])) {
        gtIdx.push(p);
        gtInv.push(1 / gt[p]);
        absRel += Math.abs(pred[p] - gt[p]) / gt[p];
      }
    }
    const fit = predIdx.length >= 3 ? fitInversePlane(predInv, predIdx, width).error : NaN;
    results.push({
      label: region.label,
      pixels: region.pixels.length,
      flatnessError: fit,
      fooled: fit > threshold,
      gtFlatnessError: gtIdx.length >= 3 ? fitInversePlane(gtInv, gtIdx, width).error : NaN,
      absRel: kind === "depth" && gtIdx.length > 0 ? absRel / gtIdx.length : null,
    });
  }
  return results;
}

/** Flat-content metrics over many regions: fooled rate, mean flatness error and abs_rel, false-flat rate. */
export interface FlatSummary {
  /** Pasted regions (mirror + art) evaluated, and the share fooled; null rate when there are none. */
  readonly pasted: number;
  readonly fooledRate: number | null;
  readonly meanFlatnessError: number | null;
  readonly meanAbsRel: number | null;
  /** Negatives with non-flat ground truth, and the share the model flattened. */
  readonly negatives: number;
  readonly falseFlatRate: number | null;
}

/** Rates over regions gathered from any number of images. */
export function summarizeFlat(regions: readonly RegionResult[], threshold = 0.02): FlatSummary {
  const pasted = regions.filter((r) =>
    (r.label === MIRROR || r.label === ART) && !Number.isNaN(r.flatnessError)
  );
  const judged = regions.filter((r) =>
    r.label === NEGATIVE && !Number.isNaN(r.flatnessError) && r.gtFlatnessError > threshold
  );
  const withAbsRel = pasted.filter((r) => r.absRel !== null);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    pasted: pasted.length,
    fooledRate: mean(pasted.map((r) => (r.fooled ? 1 : 0))),
    meanFlatnessError: mean(pasted.map((r) => r.flatnessError)),
    meanAbsRel: mean(withAbsRel.map((r) => r.absRel as number)),
    negatives: judged.length,
    falseFlatRate: mean(judged.map((r) => (r.flatnessError <= threshold ? 1 : 0))),
  };
}
