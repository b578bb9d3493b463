/// <reference lib="dom" />
/**
 * The page's logic: read the image and one or two checkpoints (files or URLs, streamed with progress), run
 * trompe's WGSL Depth Anything V2 in this browser's WebGPU, and show each depth map with its scale, their
 * difference, a read-out under the pointer, exports (NPY, 16-bit PNG, PLY) and, for a region dragged or
 * loaded as a mask, each model's flatness error and fooled verdict. A bad file gets one clear line.
 *
 * `document.body.dataset.state` says where the page is (idle, loading, running, done, error) and
 * `globalThis.trompePage` holds the last results, for scripts that drive the page (the tests do).
 */
import {
  configFromMetadata,
  DepthAnythingV2,
  type HeadKind,
  type ModelConfig,
  parseConfig,
  parseSafetensors,
  type RasterU8,
  type RegionResult,
  Runtime,
  stateDictFromSafetensors,
  TrompeError,
} from "../web.ts";
import { decodeImage, readSource, type Source, sourceOf } from "./sources.ts";
import { exportButtons } from "./exports.ts";
import { depthFigure, type DepthMapView, differenceFigure } from "./depth_view.ts";
import { describeRegion, judgeRegions, maskFromImage, rectangleMask, type RegionMask } from "./region.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

interface CheckpointSources {
  readonly label: string;
  readonly weights: Source;
  readonly config?: Source;
}

interface PageResult extends DepthMapView {
  readonly head: HeadKind;
  readonly inputSize: number;
}

declare global {
  var trompePage:
    | { results: PageResult[]; difference?: Float32Array; regions?: RegionResult[][] }
    | undefined;
}

function setState(state: "idle" | "loading" | "running" | "done" | "error"): void {
  document.body.dataset.state = state;
}

function status(text: string, done?: number): void {
  $("status").textContent = text;
  const bar = $<HTMLProgressElement>("progress");
  bar.hidden = done === undefined;
  if (done === undefined) return;
  if (Number.isFinite(done)) bar.value = done;
  else bar.removeAttribute("value");
}

function showError(error: unknown): void {
  const line = error instanceof TrompeError
    ? `${error.subject ? `${error.subject}: ` : ""}${error.message}${error.hint ? ` (${error.hint})` : ""}`
    : error instanceof Error
    ? error.message
    : String(error);
  const element = $("error");
  element.textContent = line;
  element.hidden = false;
  status("");
  setState("error");
}

async function read(source: Source, what: string): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await readSource(source, (done) => status(`reading ${what} ${source.name}`, done));
  status(`read ${what} ${source.name} (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  return bytes;
}

/** The model config: the checkpoint's own metadata, else the config file given with it. */
async function configFor(
  checkpoint: CheckpointSources,
  recorded: ModelConfig | undefined,
): Promise<{ config: ModelConfig; inputSize?: number }> {
  if (!checkpoint.config) {
    if (recorded) return { config: recorded };
    throw new TrompeError("bad-argument", "this checkpoint records no config", {
      subject: checkpoint.weights.name,
      hint: "give its config JSON beside it",
    });
  }
  const text = new TextDecoder().decode(await read(checkpoint.config, "config"));
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TrompeError("bad-argument", `not JSON: ${(error as Error).message}`, {
      subject: checkpoint.config.name,
    });
  }
  const inputSize = typeof json.inputSize === "number" ? json.inputSize : undefined;
  return { config: parseConfig(json, checkpoint.config.name), inputSize };
}

let runtime: Promise<Runtime> | undefined;

async function predict(
  checkpoint: CheckpointSources,
  image: Parameters<DepthAnythingV2["infer"]>[0],
): Promise<PageResult> {
  const st = parseSafetensors(await read(checkpoint.weights, "checkpoint"), checkpoint.weights.name);
  const { config, inputSize: configured } = await configFor(
    checkpoint,
    configFromMetadata(st, checkpoint.weights.name),
  );
  const asked = Number(input("input-size").value);
  const inputSize = asked > 0 ? asked : configured ?? 518;
  status(`${checkpoint.label}: running ${checkpoint.weights.name} at ${inputSize} px`, NaN);
  setState("running");
  runtime ??= Runtime.create();
  const rt = await runtime;
  // A kernel this browser's WebGPU refuses is reported on the device, not thrown: catch it, or the page
  // would show whatever the failed passes left in memory as a depth map.
  rt.ctx.device.pushErrorScope("validation");
  const model = DepthAnythingV2.fromStateDict(rt, config, stateDictFromSafetensors(st));
  const inferred = await model.infer(image, inputSize).then((result) => ({ result }), (error) => ({ error }));
  model.dispose();
  const refused = await rt.ctx.device.popErrorScope();
  if (refused) throw new TrompeError("gpu", `this browser's WebGPU refused a kernel: ${refused.message}`);
  if ("error" in inferred) throw inferred.error;
  const { depth, width, height } = inferred.result;
  const unit = config.head === "metric" ? "m" : "";
  const title = `${checkpoint.label}: ${checkpoint.weights.name}`;
  return { title, head: config.head, unit, depth, width, height, inputSize };
}

/** The image pixel under the pointer on a map (maps are drawn at the image's size, perhaps scaled). */
function pixelAt(canvas: HTMLCanvasElement, event: MouseEvent): { x: number; y: number } {
  const box = canvas.getBoundingClientRect();
  const x = Math.floor(((event.clientX - box.left) / box.width) * canvas.width);
  const y = Math.floor(((event.clientY - box.top) / box.height) * canvas.height);
  return { x: Math.min(canvas.width - 1, Math.max(0, x)), y: Math.min(canvas.height - 1, Math.max(0, y)) };
}

/** Pointer over any map: every map's value at that pixel. */
function readout(canvas: HTMLCanvasElement, maps: DepthMapView[], difference?: Float32Array): void {
  canvas.addEventListener("mousemove", (event) => {
    const { x, y } = pixelAt(canvas, event);
    const i = y * canvas.width + x;
    const values = maps.map((m) =>
      `${m.title.split(":")[0]} ${m.depth[i].toPrecision(4)}${m.unit && ` ${m.unit}`}`
    );
    if (difference) values.push(`B − A ${difference[i].toPrecision(3)}`);
    $("readout").textContent = `x ${x}, y ${y}: ${values.join(", ")}`;
  });
}

/** Each map as first drawn, so a region's outline can be drawn over it and taken off again. */
const painted = new Map<HTMLCanvasElement, ImageData>();

/** The region's border in white on every map. */
function outline(mask: RegionMask | undefined): void {
  for (const [canvas, base] of painted) {
    const context = canvas.getContext("2d")!;
    if (!mask) {
      context.putImageData(base, 0, 0);
      continue;
    }
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
    context.putImageData(image, 0, 0);
  }
}

/** Every model's verdict on the region, listed under the maps. */
function judge(mask: RegionMask | undefined): void {
  const page = globalThis.trompePage;
  if (!page) return;
  outline(mask);
  page.regions = mask && page.results.map((r) => judgeRegions(r.depth, r.unit, mask));
  const list = $("verdicts");
  list.replaceChildren();
  if (!mask || !page.regions) return;
  for (const [i, result] of page.results.entries()) {
    const lines = page.regions[i].map(describeRegion);
    const item = document.createElement("li");
    item.textContent = `${result.title}, ${mask.source}: ` +
      (lines.length > 0 ? lines.join("; ") : "no region of 16 pixels or more: give a larger one");
    list.append(item);
  }
}

/** A rectangle dragged on any map becomes the region. */
function dragRegion(canvas: HTMLCanvasElement): void {
  let start: { x: number; y: number } | undefined;
  canvas.addEventListener("mousedown", (event) => {
    start = pixelAt(canvas, event);
  });
  canvas.addEventListener("mouseup", (event) => {
    if (!start) return;
    const end = pixelAt(canvas, event);
    judge(rectangleMask(canvas.width, canvas.height, { x0: start.x, y0: start.y, x1: end.x, y1: end.y }));
    start = undefined;
  });
}

async function loadMask(file: File): Promise<void> {
  const page = globalThis.trompePage;
  if (!page) throw new TrompeError("bad-argument", "estimate depth first, then give the mask");
  const image = await decodeImage(new Uint8Array(await file.arrayBuffer()), file.name);
  const { width, height } = page.results[0];
  if (image.width !== width || image.height !== height) {
    throw new TrompeError(
      "shape-mismatch",
      `the mask is ${image.width}×${image.height}, the image ${width}×${height}`,
      {
        subject: file.name,
      },
    );
  }
  judge(maskFromImage(image, `mask ${file.name}`));
}

function render(results: PageResult[], image: RasterU8, imageName: string): void {
  const section = $("results");
  section.replaceChildren();
  painted.clear();
  const canvases: HTMLCanvasElement[] = [];
  for (const [i, result] of results.entries()) {
    const { element, canvas } = depthFigure(result);
    const stem = `${imageName.replace(/\.[^.]+$/, "")}-${"ab"[i]}`;
    element.append(exportButtons(stem, result, image));
    section.append(element);
    canvases.push(canvas);
  }
  let difference: Float32Array | undefined;
  if (results.length === 2) {
    const figure = differenceFigure(results[0], results[1]);
    difference = figure.difference;
    section.append(figure.element);
    canvases.push(figure.canvas);
  }
  for (const canvas of canvases) {
    painted.set(canvas, canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height));
    readout(canvas, results, difference);
    dragRegion(canvas);
  }
  globalThis.trompePage = { results, difference };
  $("verdicts").replaceChildren();
  $("region-panel").hidden = false;
}

async function run(): Promise<void> {
  $("error").hidden = true;
  setState("loading");
  const imageSource = sourceOf(input("image-file"), input("image-url"));
  const a = sourceOf(input("weights-a-file"), input("weights-a-url"));
  if (!imageSource || !a) throw new TrompeError("bad-argument", "open an image and checkpoint A first");
  const checkpoints: CheckpointSources[] = [
    { label: "A", weights: a, config: sourceOf(input("config-a-file"), input("config-a-url")) },
  ];
  const b = sourceOf(input("weights-b-file"), input("weights-b-url"));
  if (b) {
    checkpoints.push({
      label: "B",
      weights: b,
      config: sourceOf(input("config-b-file"), input("config-b-url")),
    });
  }
  const image = await decodeImage(await read(imageSource, "image"), imageSource.name);
  const results: PageResult[] = [];
  for (const checkpoint of checkpoints) results.push(await predict(checkpoint, image));
  render(results, image, imageSource.name);
  status(
    `done: ${image.width}×${image.height}, ${
      results.map((r) => `${r.title} at ${r.inputSize} px`).join("; ")
    }`,
  );
  setState("done");
}

function start(): void {
  $("inputs").addEventListener("submit", (event) => {
    event.preventDefault();
    run().catch(showError);
  });
  // ?image=URL&weights-a=URL&config-a=URL&weights-b=…&input-size=N fill the form; &run starts at once.
  const query = new URLSearchParams(location.search);
  for (const [key, value] of query) {
    const field = document.getElementById(key === "input-size" ? key : `${key}-url`);
    if (field instanceof HTMLInputElement) field.value = value;
  }
  if (!("gpu" in navigator)) {
    showError(
      new TrompeError("no-adapter", "this browser has no WebGPU", {
        hint: "Chrome/Chromium 113+ or a browser with WebGPU enabled; without a GPU: " +
          "--enable-unsafe-webgpu --use-webgpu-adapter=swiftshader",
      }),
    );
    return;
  }
  $("mask-file").addEventListener("change", () => {
    const file = input("mask-file").files?.[0];
    if (file) loadMask(file).catch(showError);
  });
  $("clear-mask").addEventListener("click", () => judge(undefined));
  if (query.has("run")) run().catch(showError);
}

start();
