import assert from "node:assert/strict";
import { subgroupLanes } from "../../core/gpu/device.ts";
import { matmul, type MatmulArgs } from "../../core/gpu/matmul.ts";
import { Runtime } from "../../core/gpu/runtime.ts";
import { subgroupVariant, usesSubgroups } from "../../core/gpu/subgroup_kernels.ts";
import { fusedBackward, fusedForward, STATS_PER_HEAD } from "../../core/nn/ops/attention_cpu.ts";
import { mlpForward } from "../../core/nn/ops/mlp.ts";
import { generate } from "../../kernels/matmul_cpu.gen.ts";
import { assertSameBits, randomArray } from "../shared.ts";

const rt = await Runtime.create();
/** The same device without subgroups: every CPU kernel as committed, each lane fetching every texel. */
const plain = new Runtime({ ...rt.ctx, subgroupLanes: undefined });
const lanes = rt.ctx.subgroupLanes;
/** Both sides need a CPU adapter whose device has subgroups (lavapipe under Deno: 8 lanes). */
const ignore = !rt.ctx.isCpu || !usesSubgroups(lanes);

/** What `run` reads back on the device with subgroups and without, compared bit for bit. */
async function sameBits(what: string, run: (r: Runtime) => Promise<Float32Array[]>): Promise<void> {
  const shared = await run(rt);
  const each = await run(plain);
  assert.equal(shared.length, each.length);
  for (const [i, values] of shared.entries()) assertSameBits(values, each[i], `${what}, output ${i}`);
}

type Product = Omit<MatmulArgs, "a" | "b" | "c" | "bias"> & { bias?: boolean };

// Rows past a multiple of 8 and of 32 (a lane's share of A's texels clamped at the last row), A and B
// either way round (A's texels along m: A_MPACKED; B's along k: B_KPACKED), and C stored a float or a
// vec4 at a time.
const PRODUCTS: Product[] = [
  { m: 37, n: 20, k: 13 },
  { m: 70, n: 44, k: 30, transA: true },
  { m: 45, n: 9, k: 21, transB: true, bias: true },
  { m: 64, n: 48, k: 32, transA: true, transB: true, bias: true, accumulate: true },
];

Deno.test({
  name: "the product shares A's texels across a subgroup with the same bits as every lane fetching them",
  ignore,
  fn: async () => {
    for (const [i, p] of PRODUCTS.entries()) {
      await sameBits(`${p.m}×${p.n}×${p.k}`, async (r) => {
        const a = r.upload("act/a", [p.m * p.k], randomArray(p.m * p.k, 10 + i));
        const b = r.upload("act/b", [p.k * p.n], randomArray(p.k * p.n, 20 + i));
        const c = r.upload("act/c", [p.m * p.n], randomArray(p.m * p.n, 30 + i));
        const bias = p.bias ? r.upload("act/bias", [p.n], randomArray(p.n, 40 + i)) : undefined;
        matmul(r, { ...p, a, b, c, bias, variant: "cpu" });
        const out = await r.read(c);
        r.free(a, b, c, ...(bias ? [bias] : []));
        return [out];
      });
    }
  },
});

Deno.test({
  name: "the MLP's fc1 into fc2's operand texture shares A's texels with the same bits",
  ignore,
  fn: async () => {
    await sameBits("mlp 70×13 → 37 → 11", async (r) => {
      const x = r.upload("act/x", [70, 13], randomArray(70 * 13, 1).map((v) => 4 * v));
      const fc1 = {
        weight: r.upload("weights/w1", [37, 13], randomArray(37 * 13, 2)),
        bias: r.upload("weights/b1", [37], randomArray(37, 3)),
      };
      const fc2 = {
        weight: r.upload("weights/w2", [11, 37], randomArray(11 * 37, 4)),
        bias: r.upload("weights/b2", [11], randomArray(11, 5)),
      };
      const y = mlpForward(r, x, fc1, fc2, "act/y");
      const out = await r.read(y);
      r.free(x, y, fc1.weight, fc1.bias, fc2.weight, fc2.bias);
      return [out];
    });
  },
});

// 70 tokens: the last block of 4 keys (or queries) runs past T; head rows of 16 texels (DINOv2's 64) and of
// 2 (the shares of texels wholly past the head row are folded away).
const ATTENTION = [
  { batch: 1, tokens: 70, channels: 128, heads: 2, headDim: 64 },
  { batch: 2, tokens: 13, channels: 24, heads: 3, headDim: 8 },
];

Deno.test({
  name: "fused attention shares the walked rows' texels across a subgroup with the same bits, both ways",
  ignore,
  fn: async () => {
    for (const [i, g] of ATTENTION.entries()) {
      const { batch: B, tokens: T, channels: c } = g;
      await sameBits(`attention T=${T} D=${g.headDim}`, async (r) => {
        const qkv = r.upload("act/qkv", [B, T, 3 * c], randomArray(B * T * 3 * c, 50 + i));
        const dCtx = r.upload("act/dctx", [B, T, c], randomArray(B * T * c, 60 + i));
        const ctx = r.tensor("act/ctx", [B, T, c]);
        const stats = r.tensor("act/stats", [B, T, g.heads, STATS_PER_HEAD]);
        const dQkv = r.tensor("act/dqkv", [B, T, 3 * c]);
        fusedForward(r, g, qkv, ctx, stats);
        fusedBackward(r, g, { qkv, ctx, dCtx, stats, dQkv });
        const out = [await r.read(ctx), await r.read(stats), await r.read(dQkv)];
        r.free(qkv, dCtx, ctx, stats, dQkv);
        return out;
      });
    }
  },
});

Deno.test({
  name: "a runtime compiles the product's variant for subgroups exactly where its device has them",
  ignore,
  fn: async () => {
    const device = rt.ctx.device;
    const create = device.createShaderModule.bind(device);
    for (const ctx of [rt.ctx, plain.ctx]) {
      const r = new Runtime(ctx); // a fresh pipeline cache: its kernels compile here
      const compiled: GPUShaderModuleDescriptor[] = [];
      device.createShaderModule = (descriptor) => {
        compiled.push(descriptor);
        return create(descriptor);
      };
      try {
        const a = r.upload("act/a", [64], randomArray(64, 1));
        const c = r.tensor("act/c", [64]);
        matmul(r, { a, b: a, c, m: 8, n: 8, k: 8, variant: "cpu" });
        await r.read(c);
        r.free(a, c);
      } finally {
        device.createShaderModule = create;
      }
      const product = compiled.filter((module) => module.label?.startsWith("matmul_cpu"));
      assert.ok(product.length > 0, "the product compiled");
      const shared = product.every((module) => module.code.includes("subgroupBroadcast("));
      assert.equal(shared, ctx.subgroupLanes !== undefined, `subgroup lanes ${ctx.subgroupLanes}`);
    }
  },
});

Deno.test({
  name: "the variants for subgroups of 4, 8, 16 and 32 lanes are valid WGSL, each lane fetching its share",
  ignore,
  fn: async () => {
    const files = [
      "matmul_cpu.wgsl",
      "matmul_cpu_vec4.wgsl",
      "matmul_cpu_texture.wgsl",
      "attention_cpu.wgsl",
      "attention_cpu_backward.wgsl",
    ];
    for (const lanes of [4, 8, 16, 32]) {
      for (const file of files) {
        const code = subgroupVariant(file, lanes)!;
        rt.ctx.device.pushErrorScope("validation");
        rt.ctx.device.createShaderModule({ label: `${file} for ${lanes} lanes`, code });
        const error = await rt.ctx.device.popErrorScope();
        assert.equal(error, null, `${file} for ${lanes} lanes: ${error?.message}`);
      }
      // The product's 32 texels of A, 32 / lanes a lane: f0 .. f(32/lanes − 1) and no more.
      const product = subgroupVariant("matmul_cpu.wgsl", lanes)!;
      assert.ok(product.includes(`let f${32 / lanes - 1} = textureLoad(A`), `${lanes} lanes`);
      assert.ok(!product.includes(`let f${32 / lanes} = textureLoad(A`), `${lanes} lanes`);
    }
  },
});

Deno.test("CPU kernels take their subgroup variants only for a subgroup size that divides their rows", () => {
  const variant = subgroupVariant("matmul_cpu_vec4.wgsl", 8);
  assert.ok(variant?.includes("subgroupBroadcast("), "the vec4-store product for 8 lanes");
  assert.ok(subgroupVariant("attention_cpu_backward.wgsl", 4)?.includes("@builtin(subgroup_invocation_id)"));
  assert.equal(subgroupVariant("matmul_cpu.wgsl", undefined), undefined, "no subgroups");
  assert.equal(subgroupVariant("matmul_cpu.wgsl", 3), undefined, "3 lanes do not divide 32 rows");
  assert.equal(subgroupVariant("matmul_cpu.wgsl", 64), undefined, "64 lanes, 32 rows");
  assert.equal(subgroupVariant("conv.wgsl", 8), undefined, "a kernel without a variant");
  assert.throws(() => generate(3), /subgroups of 3 lanes do not divide 32 rows/);
});

Deno.test("a device's subgroup size counts only where it has subgroups, all of one size", () => {
  const device = (features: string[]) => ({ features: new Set(features) }) as unknown as GPUDevice;
  const info = (min: number, max: number) =>
    ({ subgroupMinSize: min, subgroupMaxSize: max }) as GPUAdapterInfo;
  assert.equal(subgroupLanes(device(["subgroups"]), info(8, 8)), 8);
  assert.equal(subgroupLanes(device(["subgroups"]), info(4, 128)), undefined, "sizes vary");
  assert.equal(subgroupLanes(device([]), info(8, 8)), undefined, "no subgroups feature");
  assert.equal(subgroupLanes(device(["subgroups"]), info(0, 0)), undefined, "sizes unreported");
});
