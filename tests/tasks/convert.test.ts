import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { runTaskFile } from "../helpers/run_task.ts";
import { readSafetensors, writeSafetensors } from "../../core/io/safetensors.ts";
import { loadCheckpoint, saveCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { parseConfig } from "../../core/nn/model/config.ts";
import { initialWeights } from "../../core/nn/model/init_weights.ts";
import { SMALL_MODEL } from "../../core/study/small_model.ts";

const convert = (args: string[]) => runTaskFile("convert", args);

Deno.test("convert: float16 safetensors and official .pth keep config and weights; never overwrites; refuses NaN", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const config = parseConfig(SMALL_MODEL, "small");
    const weights = initialWeights(config, 3);
    const source = join(tmp, "model.safetensors");
    await saveCheckpoint(source, { config, stateDict: weights, provenance: { data: "test", steps: 7 } });

    const half = join(tmp, "half.safetensors");
    const ran = await convert([source, half, "--dtype", "f16"]);
    assertEquals(ran.code, 0, ran.text);
    const file = await readSafetensors(half);
    for (const name of file.names()) assertEquals(file.entry(name).dtype, "F16");
    const loaded = await loadCheckpoint(half);
    assertEquals(loaded.config, config);
    assertEquals(loaded.provenance?.steps, 7);
    assertEquals(loaded.provenance?.parent, source);
    for (const [key, t] of weights) {
      // Each weight is its float16 rounding: within half a float16 ulp (2^-11 relative) of the float32 value.
      const back = loaded.stateDict.get(key)!.data;
      for (let i = 0; i < t.data.length; i++) {
        assert(Math.abs(back[i] - t.data[i]) <= Math.abs(t.data[i]) * 2 ** -11 + 2 ** -25, `${key}[${i}]`);
      }
    }
    const sizes = [(await Deno.stat(source)).size, (await Deno.stat(half)).size];
    assert(sizes[1] < 0.55 * sizes[0], `float16 file ${sizes[1]} B against ${sizes[0]} B`);

    const pth = join(tmp, "model.pth");
    assertEquals((await convert([source, pth])).code, 0);
    const configFile = join(tmp, "model.json");
    await Deno.writeTextFile(configFile, JSON.stringify(SMALL_MODEL));
    const official = await loadCheckpoint(pth, { configFile });
    for (const [key, t] of weights) assertEquals(official.stateDict.get(key)!.data, t.data);

    const again = await convert([source, half, "--dtype", "f16"]);
    assertEquals(again.code, 2, again.text);
    assert(again.text.includes("never overwrites"), again.text);

    // saveCheckpoint refuses to write NaN weights, so the bad file is the good one with a NaN written in.
    const good = await readSafetensors(source);
    const bad = join(tmp, "nan.safetensors");
    const tensors = good.names().map((name, i) => {
      const data = good.float32(name);
      if (i === 0) data[0] = NaN;
      return { name, dtype: "F32" as const, shape: [...good.shape(name)], data };
    });
    await writeSafetensors(bad, tensors, good.metadata);
    const refused = await convert([bad, join(tmp, "out.safetensors")]);
    assert(refused.code !== 0 && refused.text.includes("non-finite"), refused.text);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
