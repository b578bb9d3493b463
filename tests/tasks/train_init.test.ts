import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { runTaskFile } from "../helpers/run_task.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { parseConfig } from "../../core/nn/model/config.ts";
import { initialWeights } from "../../core/nn/model/init_weights.ts";
import { SMALL_MODEL } from "../../core/study/small_model.ts";

const FIXTURES = new URL("../../fixtures/hypersim/", import.meta.url).pathname;
const train = (args: string[]) => runTaskFile("train", args);

Deno.test("train --init: starts from the official initialisation of --config, seeded, kept for --resume", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const configFile = join(tmp, "model.json");
    await Deno.writeTextFile(configFile, JSON.stringify(SMALL_MODEL));
    const out = join(tmp, "run");
    const common = [
      "--init",
      "--config",
      configFile,
      "--dataset",
      "hypersim",
      "--root",
      FIXTURES,
      "--split",
      join(FIXTURES, "splits", "train.txt"),
      "--val-split",
      join(FIXTURES, "splits", "val.txt"),
      "--out",
      out,
      "--img-size",
      "42",
      "--workers",
      "1",
      "--seed",
      "5",
    ];
    const first = await train([...common, "--max-steps", "1"]);
    assertEquals(first.code, 0, first.text);
    const init = await readSafetensors(join(out, "init.safetensors"));
    const expected = initialWeights(parseConfig(SMALL_MODEL, "small"), 5);
    assertEquals(init.names().sort(), [...expected.keys()].sort());
    for (const [key, tensor] of expected) {
      const stored = init.float32(key);
      assert(stored.every((x, i) => Object.is(x, tensor.data[i])), `${key} is not initialWeights(config, 5)`);
    }
    assert(JSON.parse(init.metadata["trompe.provenance"]).data.startsWith("random initialisation"));
    const before = await Deno.readFile(join(out, "init.safetensors"));

    const resumed = await train([...common, "--max-steps", "2", "--resume"]);
    assertEquals(resumed.code, 0, resumed.text);
    assertEquals(await Deno.readFile(join(out, "init.safetensors")), before);

    const both = await train([...common, "--weights", join(out, "init.safetensors")]);
    assertEquals(both.code, 2, both.text);
    assert(both.text.includes("give --weights or --init, not both"), both.text);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
