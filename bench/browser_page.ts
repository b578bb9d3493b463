/// <reference lib="dom" />
/**
 * The browser bench's page (bundled and served by bench/browser_server.ts, driven by bench/browser_bench.ts):
 * one model opened three ways in the same page — trompe's WGSL Depth Anything V2 on the browser's WebGPU,
 * onnxruntime-web's wasm backend, and onnxruntime-web's WebGPU backend — then timed one forward at a time as
 * the driver asks, so the engines alternate and share whatever load the machine has.
 *
 * onnxruntime-web is loaded from its own published files (served under /ort/), not bundled: it finds its
 * wasm binary and starts its threads' workers relative to its own module URL.
 */
import type * as Ort from "npm:onnxruntime-web@1.30.0";
import { DepthAnythingV2, parseConfig, parseSafetensors, Runtime, stateDictFromSafetensors } from "../web.ts";

/** trompe's WGSL model, onnxruntime-web's wasm backend, onnxruntime-web's WebGPU backend. */
export type EngineName = "trompe" | "ort-wasm" | "ort-webgpu";

/** One model and its input, as URLs on the bench's server. */
export interface BenchCase {
  readonly weights: string;
  readonly config: string;
  readonly onnx: string;
  /** ONNX external data: the `location` the model names → its URL. */
  readonly externalData: Record<string, string>;
  /** The network input, 1×3×height×width float32 (the same bytes bench/forward_bench.ts feeds). */
  readonly input: string;
  readonly height: number;
  readonly width: number;
  /** onnxruntime-web's wasm threads. */
  readonly threads: number;
  /** The engines to open (all but those the driver gave up on). */
  readonly engines: readonly EngineName[];
}

/** What opening a case gave: per engine asked for, the ms it took or why it could not open. */
export type Opened = Record<EngineName, { ms: number } | { error: string }>;

interface Engine {
  forward(input: Float32Array): Promise<Float32Array>;
  dispose(): void;
}

const ORT_MODULE = "/ort/ort.bundle.min.mjs";

let ortModule: Promise<typeof Ort> | undefined;
let runtime: Promise<Runtime> | undefined;
let input: Float32Array | undefined;
let engines = new Map<EngineName, Engine>();
const outputs = new Map<EngineName, Float32Array>();

async function bytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function openTrompe(spec: BenchCase): Promise<Engine> {
  const st = parseSafetensors(await bytes(spec.weights), spec.weights);
  const config = parseConfig(await (await fetch(spec.config)).json(), spec.config);
  runtime ??= Runtime.create();
  const model = DepthAnythingV2.fromStateDict(await runtime, config, stateDictFromSafetensors(st));
  return {
    forward: (x) => model.forward(x, spec.height, spec.width),
    dispose: () => model.dispose(),
  };
}

async function openOrt(spec: BenchCase, provider: "wasm" | "webgpu"): Promise<Engine> {
  // A variable, so that the bundler leaves this import to the browser.
  const url = ORT_MODULE;
  ortModule ??= import(url);
  const ort = await ortModule;
  ort.env.wasm.numThreads = spec.threads;
  const externalData = await Promise.all(
    Object.entries(spec.externalData).map(async ([path, url]) => ({ path, data: await bytes(url) })),
  );
  const session = await ort.InferenceSession.create(await bytes(spec.onnx), {
    executionProviders: [provider],
    externalData,
  });
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  const dims = [1, 3, spec.height, spec.width];
  return {
    async forward(x) {
      const result = await session.run({ [inputName]: new ort.Tensor("float32", x, dims) });
      // Outputs come back to the CPU (onnxruntime-web's default location), as trompe's do.
      return result[outputName].data as Float32Array;
    },
    dispose: () => void session.release(),
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const bench = {
  /** The browser's WebGPU adapter (its info's fields: Chromium leaves the description empty), and whether
   * wasm threads can run here. */
  async adapter(): Promise<{ name: string; isolated: boolean }> {
    runtime ??= Runtime.create();
    await runtime;
    const info = (await navigator.gpu.requestAdapter())?.info;
    const fields = info ? [info.vendor, info.architecture, info.device, info.description] : ["none"];
    const name = fields.filter(Boolean).join(" ") + (info?.isFallbackAdapter ? " (software fallback)" : "");
    return { name, isolated: globalThis.crossOriginIsolated };
  },

  /** Opens the case in every engine; one that fails is left out, with its error. */
  async open(spec: BenchCase): Promise<Partial<Opened>> {
    bench.close();
    input = new Float32Array((await bytes(spec.input)).buffer);
    const opened: Partial<Opened> = {};
    for (const name of spec.engines) {
      const t0 = performance.now();
      try {
        const engine = name === "trompe"
          ? await openTrompe(spec)
          : await openOrt(spec, name === "ort-wasm" ? "wasm" : "webgpu");
        engines.set(name, engine);
        opened[name] = { ms: performance.now() - t0 };
      } catch (error) {
        opened[name] = { error: message(error) };
      }
    }
    return opened;
  },

  /** One forward of `name` on the case's input, input upload to depth read back, in ms. */
  async time(name: EngineName): Promise<number> {
    const engine = engines.get(name);
    if (!engine || !input) throw new Error(`${name} is not open`);
    const t0 = performance.now();
    const depth = await engine.forward(input);
    const ms = performance.now() - t0;
    outputs.set(name, depth);
    return ms;
  },

  /** `name`'s last depth, for the driver to hold the engines to one another. */
  output(name: EngineName): number[] {
    return Array.from(outputs.get(name) ?? []);
  },

  close(): void {
    for (const engine of engines.values()) engine.dispose();
    engines = new Map();
    outputs.clear();
  },
};

declare global {
  var trompeBench: typeof bench | undefined;
}
globalThis.trompeBench = bench;
document.body.dataset.state = "ready";
