/**
 * Device acquisition: ask the adapter for the limits and features trompe needs, and fail with a message that
 * names what is missing, what was asked for and which adapter answered.
 */
import { TrompeError } from "../errors.ts";
import { hostGpus } from "./host_gpus.ts";

/** Limits below these cannot run the ViT kernels at all. */
export const REQUIRED_LIMITS = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxBufferSize: 256 * 1024 * 1024,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  // WebGPU's defaults; the CPU matmul keeps its operand copies in textures and checks their sizes.
  maxTextureDimension2D: 8192,
  maxTextureArrayLayers: 256,
} as const;

export type LimitName = keyof typeof REQUIRED_LIMITS;

/** Features used when the adapter has them; each path that uses one has an f32 / wall-clock twin. */
export const OPTIONAL_FEATURES: GPUFeatureName[] = ["shader-f16", "timestamp-query"];

/** A WebGPU device acquired with the limits trompe needs, and what it is (adapter, backend, features). */
export interface GpuContext {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly backend: string;
  readonly features: ReadonlySet<string>;
  readonly limits: Readonly<Record<LimitName, number>>;
  readonly hasTimestamps: boolean;
  readonly hasF16: boolean;
  /**
   * The adapter is a CPU rasteriser (Mesa's lavapipe/llvmpipe, SwiftShader): workgroups run as SIMD on CPU
   * threads, so kernels tuned for GPUs (workgroup memory, barriers) are slow there and some ops pick
   * CPU-shaped kernels instead.
   */
  readonly isCpu: boolean;
  /**
   * The lanes of every subgroup, where the device has subgroups of one fixed size (see `subgroupLanes`):
   * CPU kernels then share texels across a subgroup (core/gpu/subgroup_kernels.ts). Undefined: they don't.
   */
  readonly subgroupLanes?: number;
  /** Which adapter this is among those WebGPU offers, for printing and for run records. */
  readonly summary: AdapterSummary;
  /** Why this adapter may not be the one the user wants (a software one where a GPU exists). */
  readonly warnings: readonly string[];
}

/** What every run prints and records about the device it computed on. */
export interface AdapterSummary {
  readonly name: string;
  readonly vendor: string;
  readonly architecture: string;
  readonly backend: string;
  /** A CPU implementation of WebGPU (lavapipe, llvmpipe, SwiftShader) rather than a GPU. */
  readonly software: boolean;
  /** Its number in `listAdapters()`'s order, what `--adapter N` takes. */
  readonly index: number;
  readonly of: number;
  /** "default", "--adapter" or the environment variable that chose it. */
  readonly chosenBy: string;
}

/** The environment variable that chooses an adapter by number when no --adapter is given. */
export const ADAPTER_ENV = "TROMPE_ADAPTER";

/**
 * Whether this runs under Deno, not in a browser: only Deno has the environment variables and the files
 * (a private XDG_RUNTIME_DIR, the host's GPU device nodes) that acquisition consults.
 */
function underDeno(): boolean {
  return typeof Deno !== "undefined";
}

/**
 * Vulkan's loader warns when XDG_RUNTIME_DIR is unset; giving it a private temporary directory silences that
 * without touching the user's environment beyond this process.
 */
function ensureRuntimeDir(): void {
  if (!underDeno() || Deno.env.get("XDG_RUNTIME_DIR")) return;
  const dir = Deno.makeTempDirSync({ prefix: "trompe-xdg-" });
  Deno.chmodSync(dir, 0o700);
  Deno.env.set("XDG_RUNTIME_DIR", dir);
}

export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const name = info.description || info.device || info.vendor || "unknown adapter";
  return info.isFallbackAdapter ? `${name} (software fallback)` : name;
}

/** Whether an adapter is a CPU implementation of WebGPU (see `GpuContext.isCpu`). */
export function isCpuAdapter(info: GPUAdapterInfo): boolean {
  const names = `${info.description} ${info.device} ${info.vendor} ${info.architecture}`;
  return info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software/i.test(names);
}

export function backendName(): string {
  if (!underDeno()) return "the browser's";
  return Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default (vulkan/metal/dx12 as available)";
}

/** Which required limits the adapter cannot meet, as readable lines. */
export function missingLimits(adapterLimits: GPUSupportedLimits): string[] {
  const missing: string[] = [];
  for (const [name, needed] of Object.entries(REQUIRED_LIMITS)) {
    const has = adapterLimits[name as LimitName];
    if (has < needed) missing.push(`${name}: asked for ${needed}, adapter offers ${has}`);
  }
  return missing;
}

/**
 * The ways WebGPU lets a program ask for an adapter (it has no list of them), in trompe's order of
 * preference; the distinct answers are the adapters a run can choose among.
 */
const ADAPTER_REQUESTS: GPURequestAdapterOptions[] = [
  { powerPreference: "high-performance" },
  { powerPreference: "low-power" },
  { forceFallbackAdapter: true },
];

function adapterKey(info: GPUAdapterInfo): string {
  return [info.vendor, info.device, info.description, info.architecture, info.isFallbackAdapter].join("|");
}

/** The distinct adapters WebGPU offers on this backend, best first: `--adapter N` picks the N-th. */
export async function listAdapters(): Promise<GPUAdapter[]> {
  const found = new Map<string, GPUAdapter>();
  for (const options of ADAPTER_REQUESTS) {
    const adapter = await navigator.gpu.requestAdapter(options);
    if (adapter && !found.has(adapterKey(adapter.info))) found.set(adapterKey(adapter.info), adapter);
  }
  return [...found.values()];
}

let choice: { index: number; by: string } | undefined;

/** `--adapter N`: the adapter the next acquisition takes (before the device is first asked for). */
export function chooseAdapter(index: number, by = "--adapter"): void {
  choice = { index, by };
}

function adapterChoice(): { index: number; by: string } {
  if (choice) return choice;
  const env = underDeno() ? Deno.env.get(ADAPTER_ENV) : undefined;
  if (env === undefined || env === "") return { index: 0, by: "default" };
  const index = Number(env);
  if (!Number.isInteger(index) || index < 0) {
    throw new TrompeError("bad-argument", `"${env}" is not an adapter number`, {
      subject: ADAPTER_ENV,
      hint: "0, 1, ...: deno task info lists the adapters",
    });
  }
  return { index, by: ADAPTER_ENV };
}

/** Why a software adapter may be the wrong one: a GPU among the offered adapters, or one the system shows. */
export function softwareWarnings(
  chosen: AdapterSummary,
  offered: readonly AdapterSummary[],
  gpus: readonly string[],
): string[] {
  // A software adapter chosen by number is what the user asked for.
  if (!chosen.software || chosen.chosenBy !== "default") return [];
  const hardware = offered.find((a) => !a.software);
  if (hardware) {
    return [
      `computing on a software adapter (${chosen.name}) although adapter ${hardware.index} ` +
      `(${hardware.name}) is a GPU: choose it with --adapter ${hardware.index} or ${ADAPTER_ENV}=${hardware.index}`,
    ];
  }
  if (gpus.length > 0) {
    return [
      `computing on a software adapter (${chosen.name}) although this machine has GPUs (${
        gpus.join(", ")
      }): ` +
      `WebGPU did not reach them on backend ${chosen.backend}; check the driver (vulkaninfo --summary), or ` +
      `try DENO_WEBGPU_BACKEND=gl`,
    ];
  }
  return [];
}

function summarise(adapter: GPUAdapter, index: number, of: number, chosenBy: string): AdapterSummary {
  const info = adapter.info;
  return {
    name: info.description || info.device || info.vendor || "unknown adapter",
    vendor: info.vendor,
    architecture: info.architecture,
    backend: backendName(),
    software: isCpuAdapter(info),
    index,
    of,
    chosenBy,
  };
}

/**
 * Only CPU adapters under Deno ask for subgroups: the CPU kernels are what use them, and Deno's shader
 * compiler (naga) takes subgroup builtins without the \`enable subgroups;\` a browser's (Tint) requires — and
 * naga refuses that directive — so one WGSL text cannot serve both.
 */
function wantsSubgroups(summary: AdapterSummary): boolean {
  return underDeno() && summary.software;
}

/** The subgroup size where the device has subgroups and they all have one size, else undefined. */
export function subgroupLanes(device: GPUDevice, info: GPUAdapterInfo): number | undefined {
  if (!device.features.has("subgroups")) return undefined;
  const min = info.subgroupMinSize;
  return min > 0 && min === info.subgroupMaxSize ? min : undefined;
}

const acquiredListeners: ((ctx: GpuContext) => void)[] = [];
let acquired: AdapterSummary | undefined;

/** Called with each device acquired from now on (core/cli prints the adapter and its warnings). */
export function onGpuAcquired(listener: (ctx: GpuContext) => void): void {
  acquiredListeners.push(listener);
}

/** The adapter this process computes on, once a device has been acquired (what run records hold). */
export function acquiredAdapter(): AdapterSummary | undefined {
  return acquired;
}

/**
 * What went wrong on each device since it was last asked: an uncaptured error (out of memory, a validation
 * error) or the device's loss. A failed command leaves its output unwritten rather than stopping anything,
 * so `takeDeviceFault` is how a read turns that into an error instead of a wrong result.
 */
const faults = new WeakMap<GPUDevice, string[]>();

function watchFaults(device: GPUDevice): void {
  const list: string[] = [];
  faults.set(device, list);
  device.addEventListener("uncapturederror", (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    list.push(`${error.constructor.name}: ${error.message}`);
  });
  device.lost.then((info) => {
    if (info.reason !== "destroyed") list.push(`device lost: ${info.message || info.reason}`);
  });
}

/** The first fault recorded on `device` since the last call (the others counted), or null; clears them. */
export function takeDeviceFault(device: GPUDevice): string | null {
  const list = faults.get(device);
  if (!list || list.length === 0) return null;
  const more = list.length > 1 ? ` (and ${list.length - 1} more)` : "";
  const first = list[0];
  list.length = 0;
  return first + more;
}

let shared: Promise<GpuContext> | undefined;

/** The process-wide device, acquired once. */
export function getGpu(): Promise<GpuContext> {
  shared ??= acquireGpu();
  return shared;
}

export async function acquireGpu(): Promise<GpuContext> {
  ensureRuntimeDir();
  if (!("gpu" in navigator)) {
    throw new TrompeError("no-adapter", "this Deno has no WebGPU (navigator.gpu is missing)", {
      hint: "use Deno ≥ 2 (npx -y deno@2.9.6)",
    });
  }
  const adapters = await listAdapters();
  if (adapters.length === 0) {
    throw new TrompeError("no-adapter", `no WebGPU adapter found (backend: ${backendName()})`, {
      hint: "install a GPU driver, or Mesa's software Vulkan on Debian/Ubuntu: " +
        "`apt-get install -y mesa-vulkan-drivers`; or try DENO_WEBGPU_BACKEND=gl",
    });
  }
  const { index, by } = adapterChoice();
  if (index >= adapters.length) {
    const names = adapters.map((a, i) => `${i} ${describeAdapter(a)}`).join(", ");
    throw new TrompeError("bad-argument", `there is no adapter ${index}: WebGPU offers ${names}`, {
      subject: by === "default" ? "--adapter" : by,
    });
  }
  const adapter = adapters[index];
  const offered = adapters.map((a, i) => summarise(a, i, adapters.length, i === index ? by : "not chosen"));
  const summary = offered[index];
  const adapterName = describeAdapter(adapter);
  const missing = missingLimits(adapter.limits);
  if (missing.length > 0) {
    throw new TrompeError("adapter-limits", `adapter "${adapterName}" is missing: ${missing.join("; ")}`, {
      hint: "trompe needs these limits for its ViT kernels; try another backend (DENO_WEBGPU_BACKEND)",
    });
  }
  // Ask for everything the adapter offers on the limits trompe depends on: bigger bindings let ViT-L's
  // activations live in fewer buffers.
  const requiredLimits: Record<string, number> = {};
  for (const name of Object.keys(REQUIRED_LIMITS) as LimitName[]) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  let device: GPUDevice | undefined;
  if (wantsSubgroups(summary)) {
    // Deno's adapter.features leaves "subgroups" out even where its device request grants it (2.9.6 on
    // lavapipe): ask, and ask again without it if refused.
    const withSubgroups = [...requiredFeatures, "subgroups" as GPUFeatureName];
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures: withSubgroups }).catch(() =>
      undefined
    );
  }
  try {
    device ??= await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (error) {
    throw new TrompeError("adapter-limits", `adapter "${adapterName}" refused the device request`, {
      hint: `asked for ${JSON.stringify(requiredLimits)} and features [${requiredFeatures}]`,
      cause: error,
    });
  }
  watchFaults(device);
  const limits = {} as Record<LimitName, number>;
  for (const name of Object.keys(REQUIRED_LIMITS) as LimitName[]) limits[name] = device.limits[name];
  const ctx: GpuContext = {
    adapter,
    device,
    adapterName,
    backend: backendName(),
    features: new Set(device.features),
    limits,
    hasTimestamps: device.features.has("timestamp-query"),
    hasF16: device.features.has("shader-f16"),
    isCpu: summary.software,
    subgroupLanes: subgroupLanes(device, adapter.info),
    summary,
    warnings: softwareWarnings(summary, offered, underDeno() ? hostGpus() : []),
  };
  acquired = summary;
  for (const listener of acquiredListeners) listener(ctx);
  return ctx;
}
