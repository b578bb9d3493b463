/**
 * Speed in the browser: tiny-a at 70×98 and Depth Anything V2 ViT-S at 518×518 (../shared/reference: the
 * official layout's weights and the ONNX export of the same weights) run in headless Chromium — trompe's WGSL
 * model on the browser's WebGPU beside onnxruntime-web's wasm backend and its WebGPU backend, on the same page,
 * the same model and the same input. The engines alternate forward by forward; each is timed from input upload
 * to depth read back, after a warm-up forward that compiles its kernels. Each engine's depth is held to
 * onnxruntime-web wasm's (rel_l2), so a fast engine cannot be a wrong one unseen. On a machine without a GPU
 * Chromium's WebGPU is SwiftShader, on the CPU (tests/page/chromium.ts has the flags).
 */
import { join } from "node:path";
import { externalDataLocations } from "../core/nn/onnx_engine.ts";
import { type Browser, type DevTools, findChromium, launchChromium } from "../tests/page/chromium.ts";
import { HAS_SHARED, REFERENCE_DIR, relL2 } from "../tests/shared.ts";
import type { BenchCase, EngineName, Opened } from "./browser_page.ts";
import { serveBench } from "./browser_server.ts";
import { type BenchOptions, type BenchRow, type BenchSection, median } from "./lib.ts";

/** The engines of one case, in the order they are timed in each round. */
const ENGINES: readonly EngineName[] = ["trompe", "ort-wasm", "ort-webgpu"];

/** onnxruntime-web's wasm threads: the cores of this machine type, as bench/forward_bench.ts gives it. */
const THREADS = 2;

interface ModelCase {
  readonly name: string;
  /** Folders under ../shared/reference. */
  readonly weights: string;
  readonly config: string;
  readonly onnx: string;
  /** The ONNX export's fixed input. */
  readonly height: number;
  readonly width: number;
  readonly repeats: number;
}

const CASES: readonly ModelCase[] = [{
  name: "tiny-a",
  weights: "tiny-a/weights.safetensors",
  config: "tiny-a/config.json",
  onnx: "tiny-a/model.onnx",
  height: 70,
  width: 98,
  repeats: 9,
}, {
  name: "vits",
  weights: "vits-518/weights.safetensors",
  config: "vits/config.json",
  onnx: "vits-518/model.onnx",
  height: 518,
  width: 518,
  repeats: 3,
}];

/**
 * An engine whose timed forward takes longer than this is timed in the first round only, so that the bench
 * ends: on SwiftShader, onnxruntime-web's WebGPU backend takes minutes for one ViT-S forward.
 */
const SLOW_MS = 120_000;

/**
 * A forward still running after this is given up: the browser is closed (nothing else stops a WebGPU
 * queue's work), reopened, and the case run again without that engine, whose row says so.
 */
const FORWARD_LIMIT_MS = 600_000;

/** A forward that ran past FORWARD_LIMIT_MS. */
class TooSlow extends Error {
  constructor(readonly engine: EngineName) {
    super(`${engine}: no forward finished within ${FORWARD_LIMIT_MS / 60_000} min`);
  }
}

const PEERS: Record<Exclude<EngineName, "trompe">, string> = {
  "ort-wasm": `onnxruntime-web 1.30.0 wasm, ${THREADS} threads`,
  "ort-webgpu": "onnxruntime-web 1.30.0 WebGPU",
};

/** The page's case: every file as a URL on the bench server, external data found in the model itself. */
async function pageCase(model: ModelCase, engines: readonly EngineName[]): Promise<BenchCase> {
  const onnx = await Deno.readFile(join(REFERENCE_DIR, model.onnx));
  const folder = model.onnx.slice(0, model.onnx.lastIndexOf("/") + 1);
  return {
    weights: `/files/${model.weights}`,
    config: `/files/${model.config}`,
    onnx: `/files/${model.onnx}`,
    externalData: Object.fromEntries(
      externalDataLocations(onnx).map((location) => [location, `/files/${folder}${location}`]),
    ),
    input: `/input/${model.height}x${model.width}.f32`,
    height: model.height,
    width: model.width,
    threads: THREADS,
    engines,
  };
}

const oneLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0];

/** One forward of `name` in the page, in ms, or TooSlow past the limit. */
async function timeForward(page: DevTools, name: EngineName): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TooSlow(name)), FORWARD_LIMIT_MS);
  });
  try {
    return await Promise.race([page.evaluate<number>(`trompeBench.time("${name}")`), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The case's rows, trompe beside each onnxruntime-web backend; `givenUp` holds the engines left out (they
 * ran past the limit in an earlier try) with why.
 */
async function measureCase(
  page: DevTools,
  model: ModelCase,
  repeats: number,
  details: string[],
  givenUp: ReadonlyMap<EngineName, string>,
): Promise<BenchRow[]> {
  const engines = ENGINES.filter((name) => !givenUp.has(name));
  const opened = await page.evaluate<Partial<Opened>>(
    `trompeBench.open(${JSON.stringify(await pageCase(model, engines))})`,
  );
  console.log(`  ${model.name} opened: ${JSON.stringify(opened)}`);
  const failed = new Map<EngineName, string>(givenUp);
  for (const [name, result] of Object.entries(opened) as [EngineName, Opened[EngineName]][]) {
    if ("error" in result) failed.set(name, `cannot open: ${result.error}`);
  }
  if (failed.has("trompe")) throw new Error(`trompe in Chromium, ${model.name}: ${failed.get("trompe")}`);
  const running = () => engines.filter((name) => !failed.has(name));
  const times = new Map<EngineName, number[]>(running().map((name) => [name, []]));
  const warmup = new Map<EngineName, number>();
  // One warm-up forward each (kernels compiled, buffers made), then timed rounds: every engine once a round
  // (a slow one, only in the first).
  for (let round = -1; round < repeats; round++) {
    for (const name of running()) {
      if (round > 0 && times.get(name)![0] > SLOW_MS) continue;
      try {
        const ms = await timeForward(page, name);
        console.log(
          `  ${model.name} ${round < 0 ? "warm-up" : `round ${round + 1}`}: ${name} ${ms.toFixed(0)} ms`,
        );
        if (round < 0) warmup.set(name, ms);
        else times.get(name)!.push(ms);
      } catch (error) {
        if (name === "trompe" || error instanceof TooSlow) throw error;
        failed.set(name, `forward failed: ${oneLine(error)}`);
      }
    }
  }
  // Each engine's depth held to the wasm backend's, the export onnxruntime runs as written.
  const reference = failed.has("ort-wasm")
    ? undefined
    : await page.evaluate<number[]>(`trompeBench.output("ort-wasm")`);
  const agreement = new Map<EngineName, string>();
  for (const name of ["trompe", "ort-webgpu"] as const) {
    if (failed.has(name)) continue;
    const depth = await page.evaluate<number[]>(`trompeBench.output("${name}")`);
    agreement.set(
      name,
      reference
        ? `depth rel_l2 to wasm ${relL2(depth, reference).toExponential(1)}`
        : "depth unchecked (no wasm depth)",
    );
  }
  await page.evaluate("trompeBench.close()");

  details.push(`${model.name} ${model.height}×${model.width}:`);
  for (const name of ENGINES) {
    const result = opened[name];
    const ms = times.get(name) ?? [];
    details.push(
      `  ${name.padEnd(11)} ` + (result && "ms" in result ? `open ${result.ms.toFixed(0)} ms` : "not run") +
        (warmup.has(name) ? `, first forward ${warmup.get(name)!.toFixed(0)} ms` : "") +
        (ms.length ? `, timed ${ms.map((t) => t.toFixed(0)).join(", ")} ms` : "") +
        (failed.has(name) ? `; ${failed.get(name)}` : ""),
    );
  }
  const trompeMs = median(times.get("trompe")!);
  const digits = trompeMs < 100 ? 1 : 0;
  const rows: BenchRow[] = [];
  for (const peer of ["ort-wasm", "ort-webgpu"] as const) {
    const error = failed.get(peer);
    const peerMs = error ? undefined : median(times.get(peer)!);
    rows.push({
      case: `${model.name} forward ${model.height}×${model.width} in Chromium, engines alternating`,
      trompe: `${trompeMs.toFixed(digits)} ms WGSL on WebGPU`,
      peer: peerMs === undefined ? `${PEERS[peer]}: ${error}` : `${peerMs.toFixed(digits)} ms ${PEERS[peer]}`,
      ratio: peerMs === undefined ? undefined : peerMs / trompeMs,
      note: [
        `median of ${times.get("trompe")!.length}` +
        (peerMs === undefined ? "" : ` and ${times.get(peer)!.length}`),
        `trompe's ${agreement.get("trompe")}`,
        peer === "ort-webgpu" && peerMs !== undefined ? `WebGPU backend's ${agreement.get(peer)}` : "",
      ].filter(Boolean).join("; "),
    });
  }
  return rows;
}

interface BenchBrowser {
  readonly browser: Browser;
  readonly page: DevTools;
  /** "Chrome/150.0.7871.100" and the WebGPU adapter's name. */
  readonly version: string;
  readonly adapter: string;
}

/** Chromium with the bench page loaded and ready, cross-origin isolated (else wasm has one thread). */
async function openBenchPage(chromium: string, url: string): Promise<BenchBrowser> {
  const browser = await launchChromium(chromium);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("Runtime.exceptionThrown", (params) => {
      const details = params.exceptionDetails as { exception?: { description?: string }; text: string };
      errors.push(details.exception?.description ?? details.text);
    });
    await page.send("Runtime.enable");
    await page.send("Page.navigate", { url });
    try {
      await page.until(`document.body?.dataset.state === "ready"`, 30_000);
    } catch (error) {
      throw new Error(`the bench page did not start: ${errors.join("; ") || oneLine(error)}`);
    }
    const { name: adapter, isolated } = await page.evaluate<{ name: string; isolated: boolean }>(
      "trompeBench.adapter()",
    );
    if (!isolated) {
      throw new Error("the bench page is not cross-origin isolated: wasm would run on one thread");
    }
    const { product } = await page.send("Browser.getVersion") as { product: string };
    return { browser, page, adapter, version: product };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** Load averages as uptime prints them, two decimals. */
function loadText(load: readonly number[]): string {
  return load.map((x) => x.toFixed(2)).join(", ");
}

export async function measure(options: BenchOptions): Promise<BenchSection> {
  if (!HAS_SHARED) throw new Error(`the browser bench needs the reference models in ${REFERENCE_DIR}`);
  const chromium = await findChromium();
  if ("missing" in chromium) throw new Error(`the browser bench needs Chromium: ${chromium.missing}`);
  const server = await serveBench(REFERENCE_DIR);
  const loadBefore = Deno.loadavg();
  let open: BenchBrowser | undefined;
  try {
    const rows: BenchRow[] = [];
    const details: string[] = [];
    for (const model of CASES) {
      const givenUp = new Map<EngineName, string>();
      for (;;) {
        open ??= await openBenchPage(chromium.path, server.url);
        try {
          rows.push(
            ...await measureCase(open.page, model, options.quick ? 1 : model.repeats, details, givenUp),
          );
          break;
        } catch (error) {
          if (!(error instanceof TooSlow) || error.engine === "trompe") throw error;
          console.log(`  ${error.message}: reopening the browser without it`);
          givenUp.set(error.engine, error.message.slice(error.engine.length + 2));
          await open.browser.close();
          open = undefined;
        }
      }
    }
    const { version, adapter } = open!;
    return {
      title: `In the browser: ${version} headless, WebGPU on ${adapter}`,
      rows,
      details: [
        "times are input upload to depth read back, in one page",
        `load average (1, 5, 15 min) before ${loadText(loadBefore)}, after ${loadText(Deno.loadavg())}`,
        ...details,
      ],
    };
  } finally {
    await open?.browser.close();
    await server.close();
  }
}
