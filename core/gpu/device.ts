/**
 * Device acquisition: ask the adapter for the limits and features trompe needs, and fail with a message that
 * names what is missing, what was asked for and which adapter answered.
 */
import { TrompeError } from "../errors.ts";

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
}

/**
 * Vulkan's loader warns when XDG_RUNTIME_DIR is unset; giving it a private temporary directory silences that
 * without touching the user's environment beyond this process.
 */
function ensureRuntimeDir(): void {
  if (Deno.env.get("XDG_RUNTIME_DIR")) return;
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
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new TrompeError("no-adapter", `no WebGPU adapter found (backend: ${backendName()})`, {
      hint: "install a GPU driver, or Mesa's software Vulkan on Debian/Ubuntu: " +
        "`apt-get install -y mesa-vulkan-drivers`; or try DENO_WEBGPU_BACKEND=gl",
    });
  }
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
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (error) {
    throw new TrompeError("adapter-limits", `adapter "${adapterName}" refused the device request`, {
      hint: `asked for ${JSON.stringify(requiredLimits)} and features [${requiredFeatures}]`,
      cause: error,
    });
  }
  device.addEventListener("uncapturederror", (event) => {
    console.error(`WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
  });
  const limits = {} as Record<LimitName, number>;
  for (const name of Object.keys(REQUIRED_LIMITS) as LimitName[]) limits[name] = device.limits[name];
  return {
    adapter,
    device,
    adapterName,
    backend: backendName(),
    features: new Set(device.features),
    limits,
    hasTimestamps: device.features.has("timestamp-query"),
    hasF16: device.features.has("shader-f16"),
    isCpu: isCpuAdapter(adapter.info),
  };
}
