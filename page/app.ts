/// <reference lib="dom" />
/**
 * The page's wiring: read one or more images and one or two checkpoints (files or URLs, streamed with
 * progress), run trompe's WGSL Depth Anything V2 in this browser's WebGPU, and show a row of results per
 * image (page/result_row.ts). A bad file gets one clear line on the page.
 *
 * `document.body.dataset.state` says where the page is (idle, loading, running, done, error) and
 * `globalThis.trompePage` holds the rows, for scripts that drive the page (the tests do).
 */
import { TrompeError } from "../web.ts";
import { type CheckpointSources, predictImages } from "./inference.ts";
import { maskFromImage } from "./region.ts";
import { type Prediction, ResultRow } from "./result_row.ts";
import { decodeImage, readSource, type Source, sourcesOf } from "./sources.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

declare global {
  var trompePage: { rows: ResultRow[] } | undefined;
}

function setState(state: "idle" | "loading" | "running" | "done" | "error"): void {
  document.body.dataset.state = state;
}

/** A line of what the page is doing, with a progress bar (`done` NaN: busy, share unknown). */
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

function checkpointFrom(label: "A" | "B"): CheckpointSources | undefined {
  const id = label.toLowerCase();
  const [weights] = sourcesOf(input(`weights-${id}-file`), input(`weights-${id}-url`));
  if (!weights) return undefined;
  const [config] = sourcesOf(input(`config-${id}-file`), input(`config-${id}-url`));
  return { label, weights, config };
}

async function run(): Promise<void> {
  $("error").hidden = true;
  setState("loading");
  const imageSources = sourcesOf(input("image-file"), input("image-url"));
  const checkpoints = [checkpointFrom("A"), checkpointFrom("B")].filter((c) => c !== undefined);
  if (imageSources.length === 0 || checkpoints[0]?.label !== "A") {
    throw new TrompeError("bad-argument", "open an image and checkpoint A first");
  }
  const images = [];
  for (const source of imageSources) {
    images.push({ name: source.name, image: await decodeImage(await read(source, "image"), source.name) });
  }
  const asked = Number(input("input-size").value);
  const progress = {
    read,
    running: (text: string) => {
      setState("running");
      status(text, NaN);
    },
  };
  const byModel: Prediction[][] = [];
  for (const checkpoint of checkpoints) {
    byModel.push(await predictImages(checkpoint, images, asked > 0 ? asked : undefined, progress));
  }
  const showReadout = (text: string) => $("readout").textContent = text;
  const rows = images.map(({ name, image }, i) =>
    new ResultRow(name, image, byModel.map((p) => p[i]), showReadout)
  );
  $("results").replaceChildren(...rows.map((row) => row.element));
  $("region-panel").hidden = false;
  globalThis.trompePage = { rows };
  const models = byModel.map((p) => `${p[0].title} at ${p[0].inputSize} px`).join("; ");
  status(`done: ${images.length} image${images.length === 1 ? "" : "s"}, ${models}`);
  setState("done");
}

/** A mask file applies to every image of its size. */
async function loadMask(file: File): Promise<void> {
  const rows = globalThis.trompePage?.rows ?? [];
  if (rows.length === 0) throw new TrompeError("bad-argument", "estimate depth first, then give the mask");
  const image = await decodeImage(new Uint8Array(await file.arrayBuffer()), file.name);
  const fitting = rows.filter((row) => row.image.width === image.width && row.image.height === image.height);
  if (fitting.length === 0) {
    const sizes = rows.map((row) => `${row.image.width}×${row.image.height}`).join(", ");
    throw new TrompeError(
      "shape-mismatch",
      `the mask is ${image.width}×${image.height}, the images ${sizes}`,
      {
        subject: file.name,
      },
    );
  }
  for (const row of fitting) row.judge(maskFromImage(image, `mask ${file.name}`));
}

function start(): void {
  $("inputs").addEventListener("submit", (event) => {
    event.preventDefault();
    run().catch(showError);
  });
  // ?image=URL (repeatable)&weights-a=URL&config-a=URL&weights-b=…&input-size=N fill the form; &run starts.
  const query = new URLSearchParams(location.search);
  for (const key of new Set(query.keys())) {
    const field = document.getElementById(key === "input-size" ? key : `${key}-url`);
    if (field instanceof HTMLInputElement) field.value = query.getAll(key).join(" ");
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
  $("clear-mask").addEventListener("click", () => {
    for (const row of globalThis.trompePage?.rows ?? []) row.judge(undefined);
  });
  if (query.has("run")) run().catch(showError);
}

start();
