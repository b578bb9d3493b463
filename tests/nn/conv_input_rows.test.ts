import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { conv2dBackward, conv2dForward } from "../../core/nn/ops/conv2d.ts";
import { randomArray } from "../shared.ts";

const rt = await Runtime.create();

/** The values of x [B, C, H·W] as ViT tokens [B, H·W, C]. */
function toTokens(x: Float32Array, batch: number, channels: number, pixels: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < channels; c++) {
        out[(n * pixels + p) * channels + c] = x[(n * channels + c) * pixels + p];
      }
    }
  }
  return out;
}

function differingBits(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  const [ua, ub] = [
    new Uint32Array(a.buffer, a.byteOffset, a.length),
    new Uint32Array(b.buffer, b.byteOffset, b.length),
  ];
  let count = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) count++;
  return count;
}

// The products over padded rows copy each run's input rows from a view of the run's image rows where x is
// [B, C, H, W] (core/nn/ops/conv_input_rows.ts) and from the buffer where it is tokens: the same rows, so the
// same products and the same bits. 62 channels (a partial last texel) of 101×127 pixels (an odd width: the
// channels' spans start anywhere in a texel) make two runs a batch item, forward and weight gradient alike,
// each channel's rows a span of the view; 30 channels of 23×45 one run, the view one span of all channels.
const CASES = [
  { batch: 2, cin: 62, h: 101, w: 127, cout: 33, runs: 2 },
  { batch: 2, cin: 30, h: 23, w: 45, cout: 32, runs: 1 },
];
for (const { batch, cin, h, w, cout, runs } of CASES) {
  Deno.test({
    name:
      `conv input rows: a view gives the buffer's bits (${batch}×${cin}×${h}×${w}, ${runs} run(s) an item)`,
    ignore: !rt.ctx.isCpu,
    fn: async () => {
      const x = randomArray(batch * cin * h * w, 41).map((v) => v - 0.5);
      const weights = {
        weight: rt.upload("weights/w", [cout, cin, 3, 3], randomArray(cout * cin * 9, 42)),
        bias: rt.upload("weights/b", [cout], randomArray(cout, 43)),
      };
      const planes = rt.upload("act/x", [batch, cin, h, w], x);
      const tokens = rt.upload("act/tokens", [batch, h * w, cin], toTokens(x, batch, cin, h * w));
      const dy = rt.upload("grads/dy", [batch, cout, h, w], randomArray(batch * cout * h * w, 44));
      const run = async (input: { x: typeof planes; grid?: readonly [number, number] }) => {
        const dw = rt.tensor("grads/w", [cout, cin, 3, 3]);
        let y;
        const timing = await rt.timed("conv", () => {
          const forward = conv2dForward(rt, input, weights, "unit", { reluIn: true, pad: 1 });
          y = forward.y;
          conv2dBackward(rt, forward.saved, weights, dy, { weight: dw }, "unit");
        });
        const count = (label: string) => timing.byLabel.get(label)?.count ?? 0;
        const out = {
          y: await rt.read(y!),
          dw: await rt.read(dw),
          runs: [count("unit/x-rows"), count("unit.dw/x-rows")],
        };
        rt.free(y!, dw);
        return out;
      };
      const viewed = await run({ x: planes });
      const buffered = await run({ x: tokens, grid: [h, w] });
      // The runs of each batch item, forward and weight gradient, both ways.
      const all = batch * runs;
      assert.deepEqual([viewed.runs, buffered.runs], [[all, all], [all, all]]);
      assert.equal(differingBits(viewed.y, buffered.y), 0, "forward: elements whose bits differ");
      assert.equal(differingBits(viewed.dw, buffered.dw), 0, "weight gradient: elements whose bits differ");
      rt.free(weights.weight, weights.bias, planes, tokens, dy);
    },
  });
}
