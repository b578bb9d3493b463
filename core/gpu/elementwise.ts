/** The TypeScript side of kernels/elementwise.wgsl: add/axpy/mul/fill over flat tensors, with broadcast. */
import type { KernelSpec } from "./kernels.ts";
import { f32 } from "./params.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { texelShift, texelView, texelViewsApply } from "./texel_view.ts";
import { TrompeError } from "../errors.ts";

const WG = 256;
const MAX_X = 65535;

function spec(entry: string): KernelSpec {
  return { file: "elementwise.wgsl", entry, bindings: ["uniform", "read", "read", "storage"] };
}

const ADD = spec("add");
const AXPY = spec("axpy");
const MUL = spec("mul");
const FILL = spec("fill");

/**
 * The op's vec4 entry point and grid where every length is a multiple of 4 (a vec4 an invocation: half the
 * CPU time on lavapipe, see kernels/elementwise.wgsl), else the scalar one's.
 */
export function byQuads(
  kernel: KernelSpec,
  n: number,
  ...lengths: number[]
): { kernel: KernelSpec; grid: [number, number] } {
  if ([n, ...lengths].every((v) => v % 4 === 0)) {
    return { kernel: { ...kernel, entry: `${kernel.entry}_vec4` }, grid: grid1d(n / 4) };
  }
  return { kernel, grid: grid1d(n) };
}

/** A grid covering n elements, folded into 2-D past the 65535-workgroups limit. */
export function grid1d(n: number, wg = WG): [number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= MAX_X) return [Math.max(groups, 1), 1];
  return [MAX_X, Math.ceil(groups / MAX_X)];
}

/** The *_texels entry points' bindings: both inputs as texel views (mul_add_texels: a third at binding 4). */
const TEXELS_BINDINGS = ["uniform", "texture", "texture", "storage"] as const;
const MUL_ADD_BINDINGS = [...TEXELS_BINDINGS, "texture"] as const;

/**
 * On a CPU adapter, where n and b's period are multiples of 4 and the period repeats at most 65535 times,
 * runs `entry`_texels with a and b read through texel views (core/gpu/texel_view.ts) and returns true; the
 * grid is ⌈period/4/WG⌉ × n/period, so no invocation divides to find its element of b.
 */
function dispatchTexels(
  rt: Runtime,
  entry: string,
  [a, b, out, c]: [Tensor, Tensor, Tensor, Tensor?],
  n: number,
  period: number,
  scalars: [number, number],
  label: string,
): boolean {
  const repeats = n / period;
  if (!texelViewsApply(rt, n) || period % 4 !== 0 || repeats > MAX_X) return false;
  const shift = texelShift(rt, n);
  // A workgroup a period where that fills whole SIMD groups (96 texels a row at ViT-S's 384 channels):
  // lanes past the period idle, and a 256-wide group over 96 texels took 1.7 against 0.9–1.0 ms.
  const quads = period / 4;
  const wg = quads <= WG && quads % 8 === 0 ? quads : WG;
  const views = [a, b, ...(c ? [c] : [])].map((t) => texelView(rt, t, shift));
  rt.dispatch(
    { file: "elementwise.wgsl", entry: `${entry}_texels`, bindings: c ? MUL_ADD_BINDINGS : TEXELS_BINDINGS },
    { WG: wg },
    [n, period, f32(scalars[0]), f32(scalars[1]), shift],
    [views[0], views[1], out, ...views.slice(2)],
    [Math.ceil(quads / wg), repeats],
    label,
  );
  for (const v of views) rt.pool.free(v);
  return true;
}

function checkBroadcast(a: Tensor, b: Tensor, period: number, what: string): void {
  if (a.size % period !== 0 || b.size < period) {
    throw new TrompeError(
      "shape-mismatch",
      `${what}: ${a.name} (${a.size}) with ${b.name} broadcast every ${period}`,
    );
  }
}

/** out = alpha·a + beta·b, where b repeats every `period` elements (default: same size as a). */
export function add(
  rt: Runtime,
  a: Tensor,
  b: Tensor,
  out: Tensor,
  options: { alpha?: number; beta?: number; period?: number; label?: string } = {},
): void {
  const period = options.period ?? a.size;
  checkBroadcast(a, b, period, "add");
  const scalars: [number, number] = [options.alpha ?? 1, options.beta ?? 1];
  const label = options.label ?? "add";
  if (dispatchTexels(rt, "add", [a, b, out], a.size, period, scalars, label)) return;
  const { kernel, grid } = byQuads(ADD, a.size, period);
  rt.dispatch(kernel, {}, [a.size, period, f32(scalars[0]), f32(scalars[1]), 0], [a, b, out], grid, label);
}

/** out += alpha·a (gradient accumulation). */
export function axpy(rt: Runtime, a: Tensor, out: Tensor, alpha = 1, label = "axpy"): void {
  if (a.size !== out.size) throw new TrompeError("shape-mismatch", `axpy: ${a.name} vs ${out.name}`);
  // The old out is read through a view in b's place, taken before the kernel writes out.
  if (dispatchTexels(rt, "axpy", [a, out, out], a.size, a.size, [alpha, 0], label)) return;
  const { kernel, grid } = byQuads(AXPY, a.size);
  rt.dispatch(kernel, {}, [a.size, a.size, f32(alpha), f32(0), 0], [a, rt.unused, out], grid, label);
}

/** out = a·b, where b repeats every `period` elements. */
export function mul(rt: Runtime, a: Tensor, b: Tensor, out: Tensor, period = a.size, label = "mul"): void {
  checkBroadcast(a, b, period, "mul");
  if (dispatchTexels(rt, "mul", [a, b, out], a.size, period, [1, 0], label)) return;
  const { kernel, grid } = byQuads(MUL, a.size, period);
  rt.dispatch(kernel, {}, [a.size, period, f32(1), f32(0), 0], [a, b, out], grid, label);
}

/**
 * out = a·b + c, b repeating every `period` elements, the product rounded before the sum (a mul then an axpy
 * of c: the same bits either way); one pass where a CPU adapter reads texel views.
 */
export function mulAdd(
  rt: Runtime,
  a: Tensor,
  b: Tensor,
  c: Tensor,
  out: Tensor,
  period: number,
  label = "mul_add",
): void {
  checkBroadcast(a, b, period, "mulAdd");
  if (c.size !== a.size) throw new TrompeError("shape-mismatch", `mulAdd: ${a.name} vs ${c.name}`);
  if (dispatchTexels(rt, "mul_add", [a, b, out, c], a.size, period, [1, 0], label)) return;
  mul(rt, a, b, out, period, label);
  axpy(rt, c, out, 1, label);
}

export function fill(rt: Runtime, out: Tensor, value: number, label = "fill"): void {
  rt.dispatch(
    FILL,
    {},
    [out.size, out.size, f32(value), f32(0), 0],
    [rt.unused, rt.unused, out],
    grid1d(out.size),
    label,
  );
}
