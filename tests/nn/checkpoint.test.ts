import assert from "node:assert/strict";
import { join } from "node:path";
import { TrompeError } from "../../core/errors.ts";
import { readPth } from "../../core/io/pth.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import {
  checkMissingUnexpected,
  expectedKeys,
  expectedShapes,
  loadCheckpoint,
  saveCheckpoint,
} from "../../core/nn/model/checkpoint.ts";
import { PRESETS } from "../../core/nn/model/config.ts";
import { readConfigFile } from "../../core/nn/model/config_file.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const ref = (...parts: string[]) => join(REFERENCE_DIR, ...parts);
const VITS_WEIGHTS = ref("vits-518/weights.safetensors");

function assertTrompeError(code: string, pattern: RegExp, hintPattern?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof TrompeError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    if (hintPattern) assert.match(e.hint ?? "", hintPattern);
    return true;
  };
}

/** The file under an official release's name, without copying its bytes. */
async function linkAs(target: string, name: string, dir: string): Promise<string> {
  const path = join(dir, name);
  await Deno.symlink(target, path);
  return path;
}

/** IEEE half → number, decoded by hand from the bits. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

sharedTest("checkpoint: expectedKeys is the official state_dict, in its order", async () => {
  for (const model of ["tiny-a", "tiny-b"]) {
    const config = await readConfigFile(ref(model, "config.json"));
    const pth = await readPth(ref(model, "weights.pth"));
    assert.deepEqual(expectedKeys(config), [...pth.tensors.keys()], model);
    const report = checkMissingUnexpected(pth.tensors, expectedShapes(config));
    assert.deepEqual(report, { missing: [], unexpected: [], wrongShape: [] });
  }
  const vits = await readSafetensors(VITS_WEIGHTS);
  assert.deepEqual(
    expectedKeys({ ...PRESETS.vits, head: "metric", maxDepth: 20 }).sort(),
    vits.names().sort(),
  );
});

sharedTest("checkpoint: missing, unexpected and misshapen keys are reported by name", async () => {
  const config = await readConfigFile(ref("tiny-a/config.json"));
  const { tensors } = await readPth(ref("tiny-a/weights.pth"));
  tensors.delete("pretrained.blocks.2.ls1.gamma");
  tensors.set("pretrained.register_tokens", { shape: [1, 4, 64], data: new Float32Array(256) });
  tensors.set("depth_head.scratch.output_conv1.bias", { shape: [9], data: new Float32Array(9) });
  const report = checkMissingUnexpected(tensors, expectedShapes(config));
  assert.deepEqual(report.missing, ["pretrained.blocks.2.ls1.gamma"]);
  assert.deepEqual(report.unexpected, ["pretrained.register_tokens"]);
  assert.deepEqual(report.wrongShape, [{
    name: "depth_head.scratch.output_conv1.bias",
    expected: [8],
    actual: [9],
  }]);
  assert.deepEqual(checkMissingUnexpected(tensors, expectedKeys(config)).wrongShape, []); // names only
});

sharedTest(
  "checkpoint: a tiny model needs --config, then loads from .safetensors and .pth alike",
  async () => {
    await assert.rejects(
      loadCheckpoint(ref("tiny-a/weights.safetensors")),
      assertTrompeError("unsupported", /custom/, /--config/),
    );
    const configFile = ref("tiny-a/config.json");
    const fromSt = await loadCheckpoint(ref("tiny-a/weights.safetensors"), { configFile });
    const fromPth = await loadCheckpoint(ref("tiny-a/weights.pth"), { configFile });
    assert.deepEqual(fromSt.config, await readConfigFile(configFile));
    assert.deepEqual(fromPth.config, fromSt.config);
    assert.ok(fromSt.notes.some((n) => n.includes("config.json")));
    for (const [name, t] of fromSt.stateDict) assert.deepEqual(fromPth.stateDict.get(name), t, name);
  },
);

sharedTest("checkpoint: train.py's checkpoint loads with a note, weights as after the step", async () => {
  const loaded = await loadCheckpoint(ref("tiny-a/train_ckpt.pth"), {
    configFile: ref("tiny-a/config.json"),
  });
  assert.ok(loaded.notes.some((n) => n.includes("training checkpoint (epoch 0)")), loaded.notes.join("\n"));
  const after = await readSafetensors(ref("tiny-a/after_step.safetensors"));
  for (const name of after.names()) {
    assert.deepEqual(loaded.stateDict.get(name)!.data, after.float32(name), name);
  }
});

sharedTest("checkpoint: weights that do not fit the config are refused, naming keys", async () => {
  await assert.rejects(
    loadCheckpoint(ref("tiny-b/weights.safetensors"), { configFile: ref("tiny-a/config.json") }),
    assertTrompeError("shape-mismatch", /pretrained\.blocks\.4\.|wrong shape pretrained\.cls_token/),
  );
});

sharedTest("checkpoint: a foreign checkpoint without --head is refused (the max_depth trap)", async () => {
  await assert.rejects(
    loadCheckpoint(VITS_WEIGHTS),
    assertTrompeError("bad-argument", /metric or relative/, /--head/),
  );
  await assert.rejects(
    loadCheckpoint(VITS_WEIGHTS, { head: "metric" }),
    assertTrompeError("bad-argument", /max depth/, /--max-depth/),
  );
  const relative = await loadCheckpoint(VITS_WEIGHTS, { head: "relative" });
  assert.equal(relative.config.head, "relative");
  assert.equal(relative.config.maxDepth, undefined);
  const metric = await loadCheckpoint(VITS_WEIGHTS, { head: "metric", maxDepth: 20 });
  assert.deepEqual(metric.config, { ...PRESETS.vits, head: "metric", maxDepth: 20 });
  assert.ok(metric.notes.some((n) => n.includes("vits")));
  assert.ok(!metric.notes.some((n) => n.includes("assumed")));
});

sharedTest("checkpoint: official file names give the head and max depth, with a note", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const hypersim = await loadCheckpoint(
      await linkAs(VITS_WEIGHTS, "depth_anything_v2_metric_hypersim_vits.safetensors", dir),
    );
    assert.equal(hypersim.config.head, "metric");
    assert.equal(hypersim.config.maxDepth, 20);
    assert.ok(
      hypersim.notes.some((n) => /assumed max depth 20 .*metric_hypersim/.test(n)),
      hypersim.notes.join("\n"),
    );
    const vkitti = await loadCheckpoint(
      await linkAs(VITS_WEIGHTS, "depth_anything_v2_metric_vkitti_vits.safetensors", dir),
    );
    assert.equal(vkitti.config.maxDepth, 80);
    const relative = await loadCheckpoint(
      await linkAs(VITS_WEIGHTS, "depth_anything_v2_vits.safetensors", dir),
    );
    assert.equal(relative.config.head, "relative");
    assert.ok(relative.notes.some((n) => n.includes("assumed a relative head")));
    // An explicit flag wins over the name, and nothing is then assumed about it.
    const overridden = await loadCheckpoint(join(dir, "depth_anything_v2_metric_hypersim_vits.safetensors"), {
      maxDepth: 10,
    });
    assert.equal(overridden.config.maxDepth, 10);
    assert.ok(!overridden.notes.some((n) => n.includes("max depth")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sharedTest("checkpoint: vits-518's F16 weights upcast exactly", async () => {
  const loaded = await loadCheckpoint(VITS_WEIGHTS, { head: "metric", maxDepth: 20 });
  const st = await readSafetensors(VITS_WEIGHTS);
  for (
    const name of [
      "pretrained.pos_embed",
      "pretrained.blocks.7.attn.qkv.weight",
      "depth_head.scratch.output_conv2.2.bias",
    ]
  ) {
    const entry = st.entry(name);
    const bits = new Uint16Array(entry.bytes.slice().buffer);
    const data = loaded.stateDict.get(name)!.data;
    assert.equal(data.length, bits.length);
    for (let i = 0; i < bits.length; i++) {
      if (data[i] !== halfToNumber(bits[i])) {
        assert.fail(`${name}[${i}]: ${data[i]} vs ${halfToNumber(bits[i])}`);
      }
    }
    assert.ok(data.some((v) => v !== 0));
  }
});

sharedTest(
  "checkpoint: safetensors keep config, head, max depth and provenance; .pth says what to pass",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const source = await loadCheckpoint(ref("tiny-a/weights.pth"), {
        configFile: ref("tiny-a/config.json"),
      });
      const provenance = { parent: "tiny-a/weights.pth", data: "hypersim", recipe: "mirrors", steps: 12 };
      const st = join(dir, "tuned.safetensors");
      assert.deepEqual(await saveCheckpoint(st, { ...source, provenance }), []);
      const back = await loadCheckpoint(st);
      assert.deepEqual(back.config, source.config);
      assert.deepEqual(back.provenance, provenance);
      assert.ok(back.notes.some((n) => n.includes("trompe metadata")));
      for (const [name, t] of source.stateDict) assert.deepEqual(back.stateDict.get(name), t, name);
      const metadata = (await readSafetensors(st)).metadata;
      assert.equal(metadata["trompe.head"], "metric");
      assert.equal(metadata["trompe.max_depth"], "20");
      await assert.rejects(
        loadCheckpoint(st, { head: "relative" }),
        assertTrompeError("bad-argument", /--head relative/),
      );

      const pth = join(dir, "tuned.pth");
      const notes = await saveCheckpoint(pth, source);
      assert.match(notes.join(), /--head metric --max-depth 20/);
      await assert.rejects(loadCheckpoint(pth, {}), assertTrompeError("unsupported", /custom/));
      const official = await loadCheckpoint(pth, { configFile: ref("tiny-a/config.json") });
      for (const [name, t] of source.stateDict) assert.deepEqual(official.stateDict.get(name), t, name);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
