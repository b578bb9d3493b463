/**
 * Conv2d (NCHW, PyTorch's [Cout, Cin, kH, kW] weights, one stride and padding for both axes) on
 * kernels/conv.wgsl (on CPU adapters, the kernels conv_cpu_route.ts picks): `conv2dForward`, and
 * `conv2dBackward` to the input, the weight and the bias. The kernel's three modes are exported as `convGemm`
 * because a transposed convolution is the same three products in another order (conv_transpose.ts).
 *
 * Fusions the DPT head wants, each with a backward that needs nothing extra saved:
 * - `reluIn`: the conv reads relu(x) (a residual unit's pre-activations); x is saved, not relu(x).
 * - `reluOut`: y = relu(conv(x)); the backward masks dy by y > 0, so y is saved.
 * - `residual`: y = conv(x) + r (a residual unit's skip); r's gradient is dy itself, left to the caller.
 * - `tokens`: x (and dx) is ViT tokens [B, H·W, Cin]: a 1×1 projection reads them without a permute.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { runConvCpu } from "./conv_cpu_route.ts";
import { convRowsProductCpu, rowsPointwiseApplies } from "./conv_rows_product.ts";
import { resizeBilinearForward, resizedRowsApply } from "./resize_bilinear.ts";
import { sumRows } from "../../gpu/reduce.ts";
import { release } from "./release.ts";
import { reluBackward } from "./relu.ts";

const BINDINGS = ["uniform", "read", "read", "read", "read", "storage"] as const;
const CONV_KERNEL: KernelSpec = { file: "conv.wgsl", entry: "main", bindings: BINDINGS };
const BIAS_GRAD_KERNEL: KernelSpec = { file: "conv.wgsl", entry: "bias_grad", bindings: BINDINGS };

/** The convolution's shapes: x [batch, cin, h, w], w [cout, cin, kh, kw], y [batch, cout, oh, ow]. */
export interface ConvGeometry {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  pad: number;
  oh: number;
  ow: number;
}

export function convGeometry(
  g: Omit<ConvGeometry, "oh" | "ow">,
): ConvGeometry {
  const oh = Math.floor((g.h + 2 * g.pad - g.kh) / g.stride) + 1;
  const ow = Math.floor((g.w + 2 * g.pad - g.kw) / g.stride) + 1;
  if (oh < 1 || ow < 1) {
    throw new TrompeError("shape-mismatch", `conv ${g.kh}×${g.kw}/s${g.stride} on a ${g.h}×${g.w} input`);
  }
  return { ...g, oh, ow };
}

export enum ConvMode {
  Forward = 0,
  /** The gradient to the input; also a transposed convolution's forward. */
  InputGrad = 1,
  WeightGrad = 2,
}

export interface ConvGemmArgs {
  mode: ConvMode;
  geometry: ConvGeometry;
  /** Forward, InputGrad: the weights; WeightGrad: dy. */
  a: Tensor;
  /** Forward, WeightGrad: x; InputGrad: dy. */
  b: Tensor;
  out: Tensor;
  bias?: Tensor;
  /** Forward: added to y; InputGrad: the gradient is zeroed where it is ≤ 0. */
  res?: Tensor;
  reluIn?: boolean;
  reluOut?: boolean;
  accumulate?: boolean;
  tokens?: boolean;
  label?: string;
}

/** Workgroup shape for M rows: narrow tiles for the few-channel convs at the end of the head. */
function tilesFor(m: number): { WG_X: number; WG_Y: number; TILE_K: number } {
  if (m <= 4) return { WG_X: 64, WG_Y: 1, TILE_K: 8 };
  if (m <= 16) return { WG_X: 32, WG_Y: 4, TILE_K: 16 };
  return { WG_X: 16, WG_Y: 16, TILE_K: 16 };
}

function need(t: Tensor, elements: number, what: string, label: string): void {
  if (t.size < elements) {
    throw new TrompeError(
      "shape-mismatch",
      `${label}: ${what} ${t.name} has ${t.size} values, needs ${elements}`,
    );
  }
}

export function convGemm(rt: Runtime, args: ConvGemmArgs): void {
  const g = args.geometry;
  const label = args.label ?? "conv";
  const xSize = g.batch * g.cin * g.h * g.w;
  const ySize = g.batch * g.cout * g.oh * g.ow;
  const wSize = g.cout * g.cin * g.kh * g.kw;
  const s = g.stride;
  let m: number, n: number, z: number, outSize: number;
  if (args.mode === ConvMode.Forward) {
    need(args.a, wSize, "weight", label);
    need(args.b, xSize, "input", label);
    [m, n, z, outSize] = [g.cout, g.oh * g.ow, g.batch, ySize];
  } else if (args.mode === ConvMode.InputGrad) {
    need(args.a, wSize, "weight", label);
    need(args.b, ySize, "output gradient", label);
    [m, n, z, outSize] = [g.cin, Math.ceil(g.h / s) * Math.ceil(g.w / s), g.batch * s * s, xSize];
  } else {
    need(args.a, ySize, "output gradient", label);
    need(args.b, xSize, "input", label);
    [m, n, z, outSize] = [g.cout, g.cin * g.kh * g.kw, 1, wSize];
  }
  need(args.out, outSize, "output", label);
  if (args.res) need(args.res, outSize, "residual", label);
  if (args.bias) need(args.bias, m, "bias", label);
  if (rt.ctx.isCpu && runConvCpu(rt, args)) return;
  const tiles = tilesFor(m);
  const splits = args.mode === ConvMode.WeightGrad ? weightGradSplits(g, m * n) : 1;
  if (splits > 1) {
    // Each chunk of batch·pixels sums into its own partial dw, then one pass adds the partials up.
    const kChunk = Math.ceil((g.batch * g.oh * g.ow) / splits);
    const partial = rt.tensor(`tmp/${label}/partial`, [splits, m * n]);
    dispatchConv(rt, { ...args, out: partial, accumulate: false }, tiles, [m, n, splits], kChunk, label);
    sumRows(rt, partial, splits, m * n, args.out, { accumulate: args.accumulate, label: `${label}.sum` });
    release(rt, partial);
    return;
  }
  dispatchConv(
    rt,
    args,
    tiles,
    [m, n, z],
    args.mode === ConvMode.WeightGrad ? g.batch * g.oh * g.ow : 0,
    label,
  );
}

/** Batch·pixels a workgroup of the weight gradient sums at most, before the sum is split into chunks. */
const WEIGHT_GRAD_CHUNK = 512;
/** The partial products of a split weight gradient stay under this size. */
const WEIGHT_GRAD_PARTIAL_BYTES = 32 * 1024 * 1024;

/**
 * How many chunks the weight gradient's sum over batch·pixels splits into: dw is small (Cout × Cin·KH·KW)
 * and that sum long, so unsplit it is a handful of workgroups walking tens of thousands of pixels each —
 * one thread of a CPU adapter, a few SMs of a GPU. Measured on lavapipe at the demo's 70 px, batch 4, the
 * head's last 3×3 conv's dw took 627 ms in 3 workgroups.
 */
export function weightGradSplits(g: ConvGeometry, outputs: number): number {
  const k = g.batch * g.oh * g.ow;
  const byChunk = Math.ceil(k / WEIGHT_GRAD_CHUNK);
  const byMemory = Math.max(1, Math.floor(WEIGHT_GRAD_PARTIAL_BYTES / (4 * outputs)));
  return Math.max(1, Math.min(byChunk, byMemory, 65535));
}

function dispatchConv(
  rt: Runtime,
  args: ConvGemmArgs,
  tiles: ReturnType<typeof tilesFor>,
  [m, n, z]: [number, number, number],
  kChunk: number,
  label: string,
): void {
  const g = args.geometry;
  rt.dispatch(
    CONV_KERNEL,
    {
      ...tiles,
      MODE: args.mode,
      HAS_BIAS: args.bias !== undefined,
      RELU_IN: args.reluIn ?? false,
      RELU_OUT: args.reluOut ?? false,
      ADD_RES: args.mode === ConvMode.Forward && args.res !== undefined,
      MASK_RES: args.mode === ConvMode.InputGrad && args.res !== undefined,
      ACCUMULATE: args.accumulate ?? false,
      TOKENS: args.tokens ?? false,
    },
    [g.batch, g.cin, g.h, g.w, g.cout, g.oh, g.ow, g.kh, g.kw, g.stride, g.pad, kChunk],
    [args.a, args.b, args.bias ?? rt.unused, args.res ?? rt.unused, args.out],
    [Math.ceil(n / (4 * tiles.WG_X)), Math.ceil(m / (4 * tiles.WG_Y)), z],
    label,
  );
}

/** db[co] (+)= Σ over batch and pixels of dy[b, co, ·]. */
export function convBiasGrad(
  rt: Runtime,
  geometry: ConvGeometry,
  dy: Tensor,
  db: Tensor,
  accumulate = false,
  label = "conv.bias_grad",
): void {
  const g = geometry;
  need(dy, g.batch * g.cout * g.oh * g.ow, "output gradient", label);
  need(db, g.cout, "bias gradient", label);
  rt.dispatch(
    BIAS_GRAD_KERNEL,
    { ACCUMULATE: accumulate },
    [g.batch, g.cin, g.h, g.w, g.cout, g.oh, g.ow, g.kh, g.kw, g.stride, g.pad, 0],
    [dy, rt.unused, rt.unused, rt.unused, db],
    [g.cout],
    label,
  );
}

/** A convolution's parameters: weight [Cout, Cin, kH, kW] (a transposed one's [in, out, kH, kW]); bias or none. */
export interface ConvWeights {
  weight: Tensor;
  bias?: Tensor;
}

export interface Conv2dOptions {
  stride?: number;
  pad?: number;
  reluIn?: boolean;
  reluOut?: boolean;
}

export interface Conv2dInput {
  x: Tensor;
  /** Set when x is tokens [B, h·w, Cin] rather than [B, Cin, h, w]. */
  grid?: readonly [number, number];
  residual?: Tensor;
}

export interface Conv2dSaved {
  x: Tensor;
  tokens: boolean;
  geometry: ConvGeometry;
  /** Whether the forward read relu(x): the gradient passes through that ReLU. */
  reluIn: boolean;
  /** Only with reluOut: the backward masks by it. */
  y?: Tensor;
}

/** Where gradients go; each is written (or added to, with `accumulate`) only when given. */
export interface Conv2dGradTargets {
  weight?: Tensor;
  bias?: Tensor;
  /** Whether to return dx (false for a first layer). */
  input?: boolean;
  /** dx is zeroed where this is ≤ 0: the gradient through a ReLU that produced x (or fed it). */
  maskInputBy?: Tensor;
  accumulate?: boolean;
}

/** The weight's [Cout, Cin, kH, kW] (or a transposed conv's [in, out, kH, kW]), checked to be 4-D. */
export function convWeightShape(w: ConvWeights, name: string): [number, number, number, number] {
  const shape = w.weight.shape;
  if (shape.length !== 4) {
    throw new TrompeError("shape-mismatch", `${name}: conv weight must be 4-D, got [${shape}]`);
  }
  return [shape[0], shape[1], shape[2], shape[3]];
}

/** The geometry of conv(x), checked against the input's shape. */
function forwardGeometry(
  input: { x: Pick<Tensor, "shape" | "size">; grid?: readonly [number, number] },
  w: ConvWeights,
  name: string,
  options: Conv2dOptions,
): ConvGeometry {
  const [cout, weightCin, kh, kw] = convWeightShape(w, name);
  const { x, grid } = input;
  const tokens = grid !== undefined;
  const [batch, h, width] = tokens ? [x.shape[0], grid[0], grid[1]] : [x.shape[0], x.shape[2], x.shape[3]];
  const cin = tokens ? x.shape[2] : x.shape[1];
  const stride = options.stride ?? 1;
  const pad = options.pad ?? 0;
  const g = convGeometry({ batch, cin: weightCin, h, w: width, cout, kh, kw, stride, pad });
  if (cin !== g.cin || x.size !== batch * cin * h * width) {
    throw new TrompeError("shape-mismatch", `${name}: input [${x.shape}] for weight [${w.weight.shape}]`);
  }
  return g;
}

/** y [B, Cout, OH, OW] = conv(x) with `options`' fusions, pool label `act/<name>`. */
export function conv2dForward(
  rt: Runtime,
  input: Conv2dInput,
  w: ConvWeights,
  name: string,
  options: Conv2dOptions = {},
): { y: Tensor; saved: Conv2dSaved } {
  const { x, grid } = input;
  const tokens = grid !== undefined;
  const g = forwardGeometry(input, w, name, options);
  const y = rt.tensor(`act/${name}`, [g.batch, g.cout, g.oh, g.ow]);
  convGemm(rt, {
    mode: ConvMode.Forward,
    geometry: g,
    a: w.weight,
    b: x,
    out: y,
    bias: w.bias,
    res: input.residual,
    reluIn: options.reluIn,
    reluOut: options.reluOut,
    tokens,
    label: name,
  });
  const reluIn = options.reluIn ?? false;
  return { y, saved: { x, tokens, geometry: g, reluIn, y: options.reluOut ? y : undefined } };
}

/** A named conv's weights and options, for `conv2dReluPointwiseForward`. */
export interface NamedConv {
  name: string;
  w: ConvWeights;
  options?: Conv2dOptions;
}

/**
 * Inference's y [B, 1, OH, OW] = pointwise(relu(first(x))), `pointwise` a 1×1 conv to one channel: the DPT
 * head's output_conv2, pool label `act/<pointwise's name>`. Where the CPU rows product takes `first`
 * (conv_rows_product.ts), its epilogue runs the 1×1 on each position's channels, so the hidden activations
 * (32 channels at the full input size) are never stored; else the two convs. With `resize`, x [B, C, H, W]
 * is first resized (bilinear, align_corners) to `resize.size` — on that path straight into each run's input
 * rows, so the resized image is never stored either. The same bits on every path.
 */
export function conv2dReluPointwiseForward(
  rt: Runtime,
  x: Tensor,
  first: NamedConv,
  pointwise: NamedConv,
  resize?: { size: readonly [number, number]; name: string },
): Tensor {
  const options = { ...first.options, reluOut: true };
  if (resize && x.shape.length !== 4) {
    throw new TrompeError("shape-mismatch", `${resize.name}: input [${x.shape}] is not [B, C, H, W]`);
  }
  const [h, w] = resize?.size ?? [x.shape[2], x.shape[3]];
  const resized = { shape: [x.shape[0], x.shape[1], h, w], size: x.shape[0] * x.shape[1] * h * w };
  const g = forwardGeometry({ x: resize ? resized : x }, first.w, first.name, options);
  const [out, hidden, kh, kw] = convWeightShape(pointwise.w, pointwise.name);
  if (out !== 1 || hidden !== g.cout || kh !== 1 || kw !== 1) {
    throw new TrompeError(
      "shape-mismatch",
      `${pointwise.name}: weight [${pointwise.w.weight.shape}] is not a 1×1 conv from ${g.cout} channels to 1`,
    );
  }
  const fused = rt.ctx.isCpu && rowsPointwiseApplies(rt, g);
  if (resize && !(fused && resizedRowsApply(rt, x))) {
    const up = resizeBilinearForward(rt, x, resize.size, resize.name).y;
    const y = conv2dReluPointwiseForward(rt, up, first, pointwise);
    release(rt, up);
    return y;
  }
  if (fused) {
    const y = rt.tensor(`act/${pointwise.name}`, [g.batch, 1, g.oh, g.ow]);
    const args = { mode: ConvMode.Forward, geometry: g, a: first.w.weight, b: x, out: y, label: first.name };
    convRowsProductCpu(rt, { ...args, bias: first.w.bias, reluOut: true }, pointwise.w, resize && { x });
    return y;
  }
  const hiddenY = conv2dForward(rt, { x }, first.w, first.name, options).y;
  const y = conv2dForward(rt, { x: hiddenY }, pointwise.w, pointwise.name).y;
  release(rt, hiddenY);
  return y;
}

/**
 * Backward of `conv2dForward` from dy (w.r.t. y) into `targets`; returns dx, laid out as x was, when asked
 * for. The bias gradient is written only when the conv has a bias.
 */
export function conv2dBackward(
  rt: Runtime,
  saved: Conv2dSaved,
  w: ConvWeights,
  dy: Tensor,
  targets: Conv2dGradTargets,
  name: string,
): Tensor | undefined {
  const g = saved.geometry;
  let grad = dy;
  if (saved.y) {
    grad = rt.tensor(`tmp/${name}/dpre`, dy.shape);
    reluBackward(rt, saved.y, dy, grad, `${name}.relu_out`);
  }
  if (targets.weight) {
    convGemm(rt, {
      mode: ConvMode.WeightGrad,
      geometry: g,
      a: grad,
      b: saved.x,
      out: targets.weight,
      reluIn: saved.reluIn,
      tokens: saved.tokens,
      accumulate: targets.accumulate,
      label: `${name}.dw`,
    });
  }
  if (targets.bias && w.bias) {
    convBiasGrad(rt, g, grad, targets.bias, targets.accumulate, `${name}.db`);
  }
  let dx: Tensor | undefined;
  if (targets.input) {
    dx = rt.tensor(`grads/act/${name}/dx`, saved.x.shape);
    // With reluIn the gradient passes through relu(x): masked by x itself.
    const mask = targets.maskInputBy ?? (saved.reluIn ? saved.x : undefined);
    if (saved.reluIn && targets.maskInputBy && targets.maskInputBy !== saved.x) {
      throw new TrompeError("bad-argument", `${name}: two ReLU masks for one input gradient`);
    }
    convGemm(rt, {
      mode: ConvMode.InputGrad,
      geometry: g,
      a: w.weight,
      b: grad,
      out: dx,
      res: mask,
      tokens: saved.tokens,
      label: `${name}.dx`,
    });
  }
  if (grad !== dy) rt.free(grad);
  return dx;
}
