/**
 * WGSL kernels: the sources in kernels/ (carried as text by kernels/sources.ts), specialised by `override`
 * constants, and their pipelines cached by (file, entry point, constants). Bind group layouts are explicit, declared next to
 * each kernel's TypeScript side, so a binding the shader happens not to use never breaks the layout.
 */
import { TrompeError } from "../errors.ts";
import { KERNEL_SOURCES } from "../../kernels/sources.ts";
import { subgroupVariant } from "./subgroup_kernels.ts";

/**
 * Buffers ("uniform", "read" = read-only storage, "storage"), or rgba32float 2D storage textures read with
 * textureLoad ("texture", read-only) or written with textureStore ("storage-texture").
 */
export type BindingKind = "uniform" | "read" | "storage" | "texture" | "storage-texture";

function layoutEntry(kind: BindingKind, binding: number): GPUBindGroupLayoutEntry {
  const visibility = GPUShaderStage.COMPUTE;
  switch (kind) {
    case "texture":
      // Read-only storage, not sampled: on lavapipe its textureLoad is the image path, cheaper than the
      // sampler's texel fetch (the CPU product at ViT-S's fc1 1.4–1.5× less CPU time).
      return {
        binding,
        visibility,
        storageTexture: { access: "read-only", format: "rgba32float", viewDimension: "2d" },
      };
    case "storage-texture":
      return {
        binding,
        visibility,
        storageTexture: { access: "write-only", format: "rgba32float", viewDimension: "2d" },
      };
    default:
      return {
        binding,
        visibility,
        buffer: { type: kind === "uniform" ? "uniform" : kind === "read" ? "read-only-storage" : "storage" },
      };
  }
}

export interface KernelSpec {
  /** File name under kernels/, e.g. "matmul.wgsl". */
  readonly file: string;
  readonly entry: string;
  /** One entry per @binding(i) of @group(0), in order. */
  readonly bindings: readonly BindingKind[];
}

export type OverrideConstants = Record<string, number | boolean>;

/**
 * The WGSL of a kernels/ file, from the generated module that carries it (kernels/sources.ts): no file is
 * read, so the kernels come along wherever the code does — JSR, a URL, a browser bundle.
 */
export function kernelSource(file: string): string {
  const text = KERNEL_SOURCES[file];
  if (text === undefined) {
    throw new TrompeError("not-found", "no such kernel", {
      subject: `kernels/${file}`,
      hint: "a new .wgsl file reaches kernels/sources.ts through `deno task kernels`",
    });
  }
  return text;
}

export interface CompiledKernel {
  readonly spec: KernelSpec;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, CompiledKernel>();
  private layouts = new Map<string, GPUBindGroupLayout>();

  /** `subgroupLanes`: the device's subgroup size, where CPU kernels take their variants for subgroups. */
  constructor(private readonly device: GPUDevice, private readonly subgroupLanes?: number) {}

  get size(): number {
    return this.pipelines.size;
  }

  private module(file: string): GPUShaderModule {
    let module = this.modules.get(file);
    if (!module) {
      const code = subgroupVariant(file, this.subgroupLanes) ?? kernelSource(file);
      module = this.device.createShaderModule({ label: file, code });
      this.modules.set(file, module);
    }
    return module;
  }

  private layout(bindings: readonly BindingKind[]): GPUBindGroupLayout {
    const key = bindings.join(",");
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({ entries: bindings.map(layoutEntry) });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  get(spec: KernelSpec, constants: OverrideConstants = {}): CompiledKernel {
    const key = `${spec.file}:${spec.entry}:${JSON.stringify(Object.entries(constants).sort())}`;
    let compiled = this.pipelines.get(key);
    if (!compiled) {
      const layout = this.layout(spec.bindings);
      const numeric: Record<string, number> = {};
      for (const [k, v] of Object.entries(constants)) numeric[k] = typeof v === "boolean" ? Number(v) : v;
      const pipeline = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module: this.module(spec.file), entryPoint: spec.entry, constants: numeric },
      });
      compiled = { spec, pipeline, layout };
      this.pipelines.set(key, compiled);
    }
    return compiled;
  }
}
