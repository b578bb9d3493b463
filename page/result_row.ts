/// <reference lib="dom" />
/**
 * One image's results on the page: each model's depth map with its exports, the difference of two, the
 * read-out under the pointer, and the region the user drags on any of its maps (or loads as a mask) with
 * each model's verdict on it, listed under the row.
 */
import type { HeadKind, RasterU8, RegionResult } from "../web.ts";
import { depthFigure, type DepthMapView, differenceFigure } from "./depth_view.ts";
import { exportButtons } from "./exports.ts";
import { describeRegion, judgeRegions, rectangleMask, type RegionMask } from "./region.ts";

/** A model's depth for one image. */
export interface Prediction extends DepthMapView {
  readonly head: HeadKind;
  readonly inputSize: number;
}

/** The image pixel under the pointer on a map (maps are drawn at the image's size, perhaps scaled). */
function pixelAt(canvas: HTMLCanvasElement, event: MouseEvent): { x: number; y: number } {
  const box = canvas.getBoundingClientRect();
  const x = Math.floor(((event.clientX - box.left) / box.width) * canvas.width);
  const y = Math.floor(((event.clientY - box.top) / box.height) * canvas.height);
  return { x: Math.min(canvas.width - 1, Math.max(0, x)), y: Math.min(canvas.height - 1, Math.max(0, y)) };
}

/** `base` with the region's border in white. */
function outlined(base: ImageData, mask: RegionMask): ImageData {
  const image = new ImageData(new Uint8ClampedArray(base.data), base.width, base.height);
  const { labels, width, height } = mask;
  const inside = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < width && y < height && labels[y * width + x];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const edge = inside(x, y) &&
        !(inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1));
      if (edge) image.data.fill(255, 4 * (y * width + x), 4 * (y * width + x) + 4);
    }
  }
  return image;
}

export class ResultRow {
  readonly element: HTMLElement;
  readonly difference?: Float32Array;
  /** Per model, its verdict on each region of the current mask; undefined without one. */
  regions?: RegionResult[][];
  /** Each map as first drawn, so an outline can be drawn over it and taken off again. */
  private readonly painted = new Map<HTMLCanvasElement, ImageData>();
  private readonly verdicts = document.createElement("ul");

  constructor(
    readonly name: string,
    readonly image: RasterU8,
    readonly predictions: Prediction[],
    private readonly showReadout: (text: string) => void,
  ) {
    this.element = document.createElement("section");
    this.element.className = "row";
    const heading = document.createElement("h2");
    heading.textContent = `${name} (${image.width}×${image.height})`;
    const figures = document.createElement("div");
    figures.className = "figures";
    const canvases: HTMLCanvasElement[] = [];
    for (const [i, prediction] of predictions.entries()) {
      const { element, canvas } = depthFigure(prediction);
      element.append(exportButtons(`${name.replace(/\.[^.]+$/, "")}-${"ab"[i]}`, prediction, image));
      figures.append(element);
      canvases.push(canvas);
    }
    if (predictions.length === 2) {
      const figure = differenceFigure(predictions[0], predictions[1]);
      this.difference = figure.difference;
      figures.append(figure.element);
      canvases.push(figure.canvas);
    }
    this.verdicts.className = "verdicts";
    this.element.append(heading, figures, this.verdicts);
    for (const canvas of canvases) {
      this.painted.set(canvas, canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height));
      this.followPointer(canvas);
    }
  }

  /** Every model's verdict on `mask` (undefined: none), its outline on every map. */
  judge(mask: RegionMask | undefined): void {
    for (const [canvas, base] of this.painted) {
      canvas.getContext("2d")!.putImageData(mask ? outlined(base, mask) : base, 0, 0);
    }
    this.regions = mask && this.predictions.map((p) => judgeRegions(p.depth, p.unit, mask));
    this.verdicts.replaceChildren();
    if (!mask || !this.regions) return;
    for (const [i, prediction] of this.predictions.entries()) {
      const lines = this.regions[i].map(describeRegion);
      const item = document.createElement("li");
      item.textContent = `${prediction.title}, ${mask.source}: ` +
        (lines.length > 0 ? lines.join("; ") : "no region of 16 pixels or more: give a larger one");
      this.verdicts.append(item);
    }
  }

  /** The read-out of every map's value under the pointer, and a rectangle dragged becoming the region. */
  private followPointer(canvas: HTMLCanvasElement): void {
    canvas.addEventListener("mousemove", (event) => {
      const { x, y } = pixelAt(canvas, event);
      const i = y * canvas.width + x;
      const values = this.predictions.map((p) =>
        `${p.title.split(":")[0]} ${p.depth[i].toPrecision(4)}${p.unit && ` ${p.unit}`}`
      );
      if (this.difference) values.push(`B − A ${this.difference[i].toPrecision(3)}`);
      this.showReadout(`${this.name}, x ${x}, y ${y}: ${values.join(", ")}`);
    });
    let start: { x: number; y: number } | undefined;
    canvas.addEventListener("mousedown", (event) => {
      start = pixelAt(canvas, event);
    });
    canvas.addEventListener("mouseup", (event) => {
      if (!start) return;
      const end = pixelAt(canvas, event);
      this.judge(
        rectangleMask(canvas.width, canvas.height, { x0: start.x, y0: start.y, x1: end.x, y1: end.y }),
      );
      start = undefined;
    });
  }
}
