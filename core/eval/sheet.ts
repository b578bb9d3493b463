/**
 * The contact sheet of the worst regions: for each of the N regions with the highest flatness error (the
 * largest over the models, so a region any model fails on is shown), a row of crops around it — RGB, ground
 * truth, each model's depth, each model's relative error — with the region outlined. Depth cells in a row share
 * one colour range (inverse depth, from the ground truth), so models compare at a glance; each row ends with
 * its depth scale bar in metres and the error scale bar.
 *
 * Rows are rendered as regions qualify and dropped when pushed out, so memory stays at N rows whatever the
 * dataset size, and no prediction has to be kept or recomputed.
 */
import type { RasterU8 } from "../io/raster.ts";
import { turbo } from "../plot/colormap.ts";
import type { EvalFrame, MaskRegion, RegionEval } from "./evaluate.ts";
import { ART, MIRROR, NEGATIVE } from "./flat.ts";
import { BAR_W, scaleBar, shorten } from "../plot/annotate.ts";
import { FONT, textWidth } from "../plot/font.ts";
import { BLACK, Canvas, type Rgb, WHITE } from "../plot/canvas.ts";

/** Relative error at which the error colour saturates. */
export const ERROR_SATURATION = 0.5;
const INVALID: Rgb = [150, 150, 150];
const OUTLINE_RGB: Rgb = [255, 0, 255];
const GAP = 4;
const BAR_LABEL_W = 8 * FONT.advance;

/** Relative error colour: white at 0, through yellow and red, to dark red at saturation. */
export function errorColor(e: number): Rgb {
  const stops: Rgb[] = [[255, 255, 255], [255, 220, 60], [230, 40, 30], [100, 0, 0]];
  const x = Math.min(1, Math.max(0, e / ERROR_SATURATION)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const mix = (c: number) => Math.round(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * (x - i));
  return [mix(0), mix(1), mix(2)];
}

const LABEL_NAMES: Record<number, string> = { [MIRROR]: "mirror", [ART]: "art", [NEGATIVE]: "negative" };

interface Row {
  readonly score: number;
  readonly order: number;
  readonly image: RasterU8;
}

export class WorstRegions {
  #rows: Row[] = [];
  #seen = 0;

  constructor(readonly limit: number, readonly models: readonly string[], readonly cellWidth = 200) {}

  /** The score that a region must beat to enter (−Infinity while there is room). */
  get bar(): number {
    return this.#rows.length < this.limit ? -Infinity : this.#rows[this.#rows.length - 1].score;
  }

  /** Offers one region of a frame; `depths[m]` and `results[m]` are model m's depth and its result there. */
  consider(
    frame: EvalFrame,
    region: MaskRegion,
    depths: readonly Float32Array[],
    results: readonly RegionEval[],
  ): void {
    const order = this.#seen++;
    if (this.limit <= 0 || region.label === NEGATIVE) return;
    const errors = results.map((r) => r.flatnessError).filter((e) => !Number.isNaN(e));
    if (errors.length === 0) return;
    const score = Math.max(...errors);
    if (!(score > this.bar)) return;
    const image = this.#renderRow(frame, region, depths, results);
    this.#rows.push({ score, order, image });
    this.#rows.sort((a, b) => b.score - a.score || a.order - b.order);
    this.#rows.length = Math.min(this.#rows.length, this.limit);
  }

  get count(): number {
    return this.#rows.length;
  }

  /** The sheet: column headings, then one row per region, worst first; null when no region was offered. */
  render(): RasterU8 | null {
    if (this.#rows.length === 0) return null;
    const width = Math.max(...this.#rows.map((r) => r.image.width));
    const headH = FONT.lineHeight * 2 + 6;
    const height = headH + this.#rows.reduce((a, r) => a + r.image.height + GAP * 3, 0);
    const canvas = new Canvas(width, height);
    const columns = [
      "RGB",
      "ground truth",
      ...this.models.map((m) => `${m} depth`),
      ...this.models.map((m) => `${m} |err|/gt`),
    ];
    columns.forEach((name, c) => {
      const x = GAP + c * (this.cellWidth + GAP) + this.cellWidth / 2;
      const scale = textWidth(name, 2) <= this.cellWidth ? 2 : 1;
      canvas.text(shorten(name, this.cellWidth, scale), x, 6, BLACK, { scale, align: "center" });
    });
    let y = headH;
    for (const row of this.#rows) {
      canvas.drawImage(row.image, 0, y);
      y += row.image.height + GAP * 3;
      canvas.fillRect(0, y - GAP * 2, width, 1, [200, 200, 200]);
    }
    return canvas.toRaster();
  }

  #renderRow(
    frame: EvalFrame,
    region: MaskRegion,
    depths: readonly Float32Array[],
    results: readonly RegionEval[],
  ): RasterU8 {
    const crop = cropAround(region.box, frame.width, frame.height);
    const cw = this.cellWidth;
    const ch = Math.max(1, Math.round((cw * crop.h) / crop.w));
    const inRegion = new Uint8Array(frame.width * frame.height);
    for (const p of region.pixels) inRegion[p] = 1;
    const sample = cellSampler(crop, cw, ch, frame.width);

    const { near, far } = depthRange(frame, crop);
    const invNear = 1 / near, invFar = 1 / far;
    const depthColor = (z: number): Rgb =>
      z > 0 && Number.isFinite(z) ? turbo((1 / z - invFar) / (invNear - invFar || 1)) : INVALID;
    const gt = frame.depth, valid = frame.valid;
    const cells: { color: (i: number) => Rgb; outline: Rgb }[] = [
      { color: (i) => rgbAt(frame.rgb, i), outline: OUTLINE_RGB },
      { color: (i) => (valid[i] ? depthColor(gt[i]) : INVALID), outline: WHITE },
      ...depths.map((d) => ({ color: (i: number) => depthColor(d[i]), outline: WHITE })),
      ...depths.map((d) => ({
        color: (i: number) => (valid[i] && gt[i] > 0 ? errorColor(Math.abs(d[i] - gt[i]) / gt[i]) : INVALID),
        outline: BLACK,
      })),
    ];

    const titleH = FONT.lineHeight * 2 + 2;
    const barsW = 2 * (BAR_W + BAR_LABEL_W + GAP);
    const canvas = new Canvas(GAP + cells.length * (cw + GAP) + barsW, titleH + ch + GAP);
    const label = LABEL_NAMES[region.label] ?? `label ${region.label}`;
    const verdicts = results.map((r, m) =>
      `${this.models[m]} ${fmt(r.flatnessError)}${r.fooled ? " (fooled)" : ""}`
    );
    const title = `${frame.id} · ${label}, ${(100 * region.area).toFixed(1)} % of frame · flatness ${
      verdicts.join(", ")
    }`;
    canvas.text(shorten(title, canvas.width - 2 * GAP, 1), GAP, 2, BLACK);
    canvas.text(
      `depth ${fmt(near)}–${fmt(far)} m (inverse-depth colours); error saturates at ${ERROR_SATURATION}`,
      GAP,
      2 + FONT.lineHeight,
      [90, 90, 90],
    );

    cells.forEach((cell, c) => {
      const x0 = GAP + c * (cw + GAP);
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) canvas.setPixel(x0 + x, titleH + y, cell.color(sample(x, y)));
      }
      // Outline: cell pixels in the region with a 4-neighbour outside it.
      const inside = (x: number, y: number) =>
        x >= 0 && y >= 0 && x < cw && y < ch && inRegion[sample(x, y)] === 1;
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          if (
            inside(x, y) && (!inside(x - 1, y) || !inside(x + 1, y) || !inside(x, y - 1) || !inside(x, y + 1))
          ) {
            canvas.setPixel(x0 + x, titleH + y, cell.outline);
          }
        }
      }
    });

    const barX = GAP + cells.length * (cw + GAP);
    scaleBar(canvas, barX, titleH, ch, (t) => turbo(1 - t), fmt(near), fmt(far));
    scaleBar(
      canvas,
      barX + BAR_W + BAR_LABEL_W + GAP,
      titleH,
      ch,
      (t) => errorColor(t * ERROR_SATURATION),
      "0",
      `${ERROR_SATURATION}+`,
    );
    return canvas.toRaster();
  }
}

interface Crop {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/**
 * A window with the frame's aspect ratio around a region's box: 1.6× the box (context to judge the region
 * by), at least a third of the frame, at most all of it, shifted to lie inside the frame.
 */
export function cropAround(
  box: readonly [number, number, number, number],
  width: number,
  height: number,
): Crop {
  const [x0, y0, x1, y1] = box;
  const aspect = width / height;
  let w = Math.max((x1 - x0) * 1.6, (y1 - y0) * 1.6 * aspect, width / 3);
  w = Math.min(w, width);
  const h = Math.min(height, Math.max(1, Math.round(w / aspect)));
  w = Math.max(1, Math.round(w));
  const x = Math.min(Math.max(0, Math.round((x0 + x1) / 2 - w / 2)), width - w);
  const y = Math.min(Math.max(0, Math.round((y0 + y1) / 2 - h / 2)), height - h);
  return { x, y, w, h };
}

/** Cell pixel → frame pixel index, nearest neighbour. */
function cellSampler(crop: Crop, cw: number, ch: number, width: number): (x: number, y: number) => number {
  const xs = Int32Array.from(
    { length: cw },
    (_, x) => crop.x + Math.min(crop.w - 1, Math.floor(((x + 0.5) * crop.w) / cw)),
  );
  const ys = Int32Array.from(
    { length: ch },
    (_, y) => crop.y + Math.min(crop.h - 1, Math.floor(((y + 0.5) * crop.h) / ch)),
  );
  return (x, y) => ys[y] * width + xs[x];
}

/** Near and far ends (2nd and 98th percentile of inverse depth) of the ground truth in the crop. */
function depthRange(frame: EvalFrame, crop: Crop): { near: number; far: number } {
  const inverse: number[] = [];
  for (let y = crop.y; y < crop.y + crop.h; y++) {
    for (let x = crop.x; x < crop.x + crop.w; x++) {
      const i = y * frame.width + x;
      if (frame.valid[i] && frame.depth[i] > 0) inverse.push(1 / frame.depth[i]);
    }
  }
  if (inverse.length === 0) return { near: 1, far: 10 };
  inverse.sort((a, b) => a - b);
  const lo = inverse[Math.floor((inverse.length - 1) * 0.02)];
  const hi = inverse[Math.floor((inverse.length - 1) * 0.98)];
  return hi > lo ? { near: 1 / hi, far: 1 / lo } : { near: 1 / (hi * 1.1), far: 1 / (lo * 0.9) };
}

function rgbAt(image: RasterU8, i: number): Rgb {
  const c = image.channels, o = i * c;
  return c === 1
    ? [image.data[o], image.data[o], image.data[o]]
    : [image.data[o], image.data[o + 1], image.data[o + 2]];
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "–";
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(2);
}
