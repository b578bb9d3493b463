/// <reference lib="dom" />
/**
 * Depth maps drawn for the page: the prediction coloured by inverse depth (turbo, near warm) with a scale
 * bar in the model's units, and the difference of two predictions on a diverging map (blue where B's value
 * is below A's, red where above), symmetric about zero so agreement is white.
 */
import { colorizeDepth, type ColorMap, inverseDepthRange, turbo } from "../web.ts";

const BAR_WIDTH = 18;
const LABEL_WIDTH = 64;

/** A depth map to draw: what it is (title, unit) and its values, row-major. */
export interface DepthMapView {
  readonly title: string;
  /** "m" for a metric head; "" for a relative one (disparity has no unit). */
  readonly unit: string;
  readonly depth: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** White at 0.5, to blue below and red above. */
const diverging: ColorMap = (t) => {
  const s = Math.min(1, Math.max(0, t)) * 2 - 1;
  const fade = (v: number) => Math.round(255 * (1 - Math.abs(s)) + v * Math.abs(s));
  return s < 0 ? [fade(33), fade(102), fade(172)] : [fade(178), fade(24), fade(43)];
};

function canvasOf(width: number, height: number, className = ""): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = className;
  return canvas;
}

function paintRgb(canvas: HTMLCanvasElement, rgb: Uint8Array): void {
  const context = canvas.getContext("2d")!;
  const image = context.createImageData(canvas.width, canvas.height);
  for (let i = 0; i < canvas.width * canvas.height; i++) {
    image.data.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/** A vertical bar of `color` from t = 1 (top) to 0, labelled with the values at both ends and the middle. */
function scaleBar(height: number, color: ColorMap, label: (t: number) => string): HTMLCanvasElement {
  const canvas = canvasOf(BAR_WIDTH + LABEL_WIDTH, Math.max(height, 60), "scale-bar");
  const context = canvas.getContext("2d")!;
  for (let y = 0; y < canvas.height; y++) {
    const [r, g, b] = color(1 - y / (canvas.height - 1));
    context.fillStyle = `rgb(${r}, ${g}, ${b})`;
    context.fillRect(0, y, BAR_WIDTH, 1);
  }
  context.fillStyle = "#222";
  context.font = "11px system-ui, sans-serif";
  context.textBaseline = "top";
  context.fillText(label(1), BAR_WIDTH + 4, 0);
  context.textBaseline = "middle";
  context.fillText(label(0.5), BAR_WIDTH + 4, canvas.height / 2);
  context.textBaseline = "bottom";
  context.fillText(label(0), BAR_WIDTH + 4, canvas.height);
  return canvas;
}

function figure(title: string, map: HTMLCanvasElement, bar: HTMLCanvasElement): HTMLElement {
  const element = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const maps = document.createElement("div");
  maps.className = "maps";
  maps.append(map, bar);
  element.append(caption, maps);
  return element;
}

function format(value: number, unit: string): string {
  return `${value.toPrecision(3)}${unit ? ` ${unit}` : ""}`;
}

/** A prediction as a figure: coloured by inverse depth between its 2nd and 98th percentiles, with its scale. */
export function depthFigure(view: DepthMapView): { element: HTMLElement; canvas: HTMLCanvasElement } {
  const { depth, width, height } = view;
  const valid = new Uint8Array(depth.length).fill(1);
  // A relative head predicts disparity: colour it as the inverse depth it is proportional to.
  const asDepth = view.unit ? depth : depth.map((d) => 1 / d);
  const range = inverseDepthRange(asDepth, valid);
  const canvas = canvasOf(width, height, "depth");
  paintRgb(canvas, colorizeDepth(asDepth, valid, width, height, range, turbo).data);
  const [lo, hi] = [1 / range.far, 1 / range.near];
  const label = (t: number) => {
    const inverse = lo + t * (hi - lo);
    return view.unit ? format(1 / inverse, view.unit) : format(inverse, "");
  };
  return { element: figure(view.title, canvas, scaleBar(height, turbo, label)), canvas };
}

/** `b − a` pixel by pixel, coloured white at zero up to the 98th percentile of its magnitude. */
export function differenceFigure(
  a: DepthMapView,
  b: DepthMapView,
): { element: HTMLElement; canvas: HTMLCanvasElement; difference: Float32Array } {
  const difference = b.depth.map((v, i) => v - a.depth[i]);
  const magnitudes = Array.from(difference, Math.abs).sort((x, y) => x - y);
  const extent = magnitudes[Math.floor((magnitudes.length - 1) * 0.98)] || 1;
  const rgb = new Uint8Array(difference.length * 3);
  for (let i = 0; i < difference.length; i++) rgb.set(diverging(0.5 + difference[i] / (2 * extent)), 3 * i);
  const canvas = canvasOf(a.width, a.height, "depth");
  paintRgb(canvas, rgb);
  const bar = scaleBar(a.height, diverging, (t) => format((2 * t - 1) * extent, a.unit));
  return { element: figure(`${b.title} − ${a.title}`, canvas, bar), canvas, difference };
}
