import assert from "node:assert/strict";
import { join } from "node:path";
import { TrompeError } from "../../core/errors.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import type { StateDict } from "../../core/io/pth.ts";
import { expectedShapes } from "../../core/nn/model/checkpoint.ts";
import {
  ffnHidden,
  inferConfig,
  measureArchitecture,
  type ModelConfig,
  parseConfig,
  PRESETS,
} from "../../core/nn/model/config.ts";
import { readConfigFile } from "../../core/nn/model/config_file.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

async function shapesOnly(path: string): Promise<StateDict> {
  const st = await readSafetensors(path);
  return new Map(st.names().map((n) => [n, { shape: [...st.shape(n)], data: new Float32Array(0) }]));
}

/** A state_dict with the right names and shapes but no values: all inference looks at. */
function fakeStateDict(config: ModelConfig): StateDict {
  return new Map([...expectedShapes(config)].map(([n, shape]) => [n, { shape, data: new Float32Array(0) }]));
}

Deno.test("config: the official presets, ViT-g with DINOv2's fused SwiGLU", () => {
  assert.deepEqual(
    [PRESETS.vits.embedDim, PRESETS.vits.depth, PRESETS.vits.heads, PRESETS.vits.features],
    [384, 12, 6, 64],
  );
  assert.deepEqual(PRESETS.vitb.outChannels, [96, 192, 384, 768]);
  assert.deepEqual(PRESETS.vitl.layers, [4, 11, 17, 23]);
  assert.deepEqual([PRESETS.vitg.embedDim, PRESETS.vitg.depth, PRESETS.vitg.heads], [1536, 40, 24]);
  assert.equal(PRESETS.vitg.ffn, "swiglufused");
  assert.equal(PRESETS.vitl.ffn, "mlp");
  assert.equal(ffnHidden(1536, 4, "swiglufused"), 4096); // (int(6144·2/3) + 7) // 8 · 8
  assert.equal(ffnHidden(1024, 4, "mlp"), 4096);
  for (const p of Object.values(PRESETS)) assert.equal(p.imgSize, 518);
});

for (const model of ["tiny-a", "tiny-b"]) {
  sharedTest(
    `config: ${model}'s shapes give config.json's widths; heads and layers need --config`,
    async () => {
      const weights = await shapesOnly(join(REFERENCE_DIR, model, "weights.safetensors"));
      const expected = await readConfigFile(join(REFERENCE_DIR, model, "config.json"));
      const measured = measureArchitecture(weights, model);
      for (const key of ["embedDim", "depth", "mlpRatio", "features", "outChannels", "imgSize"] as const) {
        assert.deepEqual(measured[key], expected[key], key);
      }
      assert.throws(() => inferConfig(weights, "w.safetensors"), (e: unknown) => {
        assert.ok(e instanceof TrompeError);
        assert.equal(e.code, "unsupported");
        assert.equal(e.subject, "w.safetensors");
        assert.match(e.message, /custom model size/);
        assert.match(e.hint!, /--config/);
        return true;
      });
    },
  );
}

sharedTest("config: the vits-518 weights infer the official ViT-S preset", async () => {
  const { preset, architecture } = inferConfig(
    await shapesOnly(join(REFERENCE_DIR, "vits-518/weights.safetensors")),
    "vits",
  );
  assert.equal(preset, "vits");
  assert.deepEqual(architecture, PRESETS.vits);
});

Deno.test("config: every preset's official shapes infer that preset back", () => {
  for (const [name, architecture] of Object.entries(PRESETS)) {
    const inferred = inferConfig(fakeStateDict({ ...architecture, head: "relative" }), name);
    assert.equal(inferred.preset, name);
    assert.deepEqual(inferred.architecture, architecture);
  }
});

sharedTest("config: the reference config.json files pass the schema", async () => {
  for (const model of ["tiny-a", "tiny-b", "vits"]) {
    const config = await readConfigFile(join(REFERENCE_DIR, model, "config.json"));
    assert.equal(config.patchSize, 14);
    assert.equal(config.ffn, "mlp");
    assert.ok(!("inputSize" in config)); // golden-run fields are not model config
  }
  const tinyB = await readConfigFile(join(REFERENCE_DIR, "tiny-b/config.json"));
  assert.deepEqual([tinyB.head, tinyB.maxDepth, tinyB.heads, tinyB.imgSize], ["relative", undefined, 3, 224]);
});

Deno.test("config: an invalid config names each bad field", () => {
  const base = {
    embedDim: 64,
    depth: 4,
    heads: 4,
    features: 16,
    outChannels: [8, 16, 32, 32],
    layers: [0, 1, 2, 3],
    head: "metric",
  };
  assert.equal(parseConfig(base, "c.json").mlpRatio, 4);
  assert.equal(parseConfig(base, "c.json").imgSize, 518);
  // Field errors first (zod checks the cross-field rules only once every field is valid).
  const cases: [Record<string, unknown>, string[]][] = [
    [{ ...base, head: "absolute", outChannels: [8, 16] }, ["head", "outChannels"]],
    [{ ...base, heads: 5, layers: [0, 1, 2, 4] }, ["heads", "layers"]],
  ];
  for (const [bad, fields] of cases) {
    assert.throws(() => parseConfig(bad, "c.json"), (e: unknown) => {
      assert.ok(e instanceof TrompeError);
      assert.equal(e.code, "bad-argument");
      assert.equal(e.subject, "c.json");
      for (const field of fields) assert.ok(e.message.includes(field), e.message);
      return true;
    });
  }
});

Deno.test("config file: --head and --max-depth stand in for a missing head; a missing field is named plainly", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "custom.json");
  const sizes = {
    embedDim: 64,
    depth: 4,
    heads: 4,
    features: 16,
    outChannels: [8, 16, 32, 32],
    layers: [0, 1, 2, 3],
  };
  await Deno.writeTextFile(path, JSON.stringify(sizes));
  const config = await readConfigFile(path, { head: "metric", maxDepth: 20 });
  assert.equal(config.head, "metric");
  assert.equal(config.maxDepth, 20);
  await assert.rejects(readConfigFile(path), (e: unknown) => {
    assert.ok(e instanceof TrompeError);
    assert.match(e.message, /^model config: head is missing$/);
    assert.match(e.hint ?? "", /--head/);
    return true;
  });
  // What the file says wins over nothing; a file's own head is kept.
  await Deno.writeTextFile(path, JSON.stringify({ ...sizes, head: "relative" }));
  assert.equal((await readConfigFile(path, {})).head, "relative");
  await Deno.remove(dir, { recursive: true });
});
