/**
 * Forward latency of the vits encoder at 518×518 (../shared/reference/vits-518 weights), plus, printed once
 * before the runs, where its GPU time goes (per dispatch label, from timestamp queries where the adapter has
 * them) and the pool's peak memory with its breakdown.
 */
import { join } from "node:path";
import { describePeak, formatBytes } from "../core/gpu/pool.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { loadCheckpoint } from "../core/nn/model/checkpoint.ts";
import { freeVitFeatures, vitForward } from "../core/nn/model/vit.ts";
import { uploadWeights } from "../core/nn/model/weights.ts";
import { HAS_SHARED, randomArray, REFERENCE_DIR } from "../tests/shared.ts";

const SIZE = 518;

async function setup() {
  const rt = await Runtime.create();
  const { config, stateDict } = await loadCheckpoint(join(REFERENCE_DIR, "vits-518/weights.safetensors"), {
    configFile: join(REFERENCE_DIR, "vits/config.json"),
  });
  const weights = uploadWeights(rt, stateDict, (k) => k.startsWith("pretrained."));
  const input = rt.upload("act/input", [1, 3, SIZE, SIZE], randomArray(3 * SIZE * SIZE, 1));
  const forward = async () => {
    const features = vitForward(rt, config, weights, input);
    await rt.read(features.layers[3].cls);
    freeVitFeatures(rt, features);
  };
  await forward(); // compiles every pipeline
  rt.pool.resetPeak();
  const timing = await rt.timed("vit forward", forward);
  const rows = [...timing.byLabel].sort((a, b) => b[1].ms - a[1].ms);
  console.log(
    `vits encoder ${SIZE}×${SIZE} on ${rt.ctx.adapterName}: ${
      timing.totalMs.toFixed(0)
    } ms GPU (${timing.source})\n` +
      rows.map(([label, t]) =>
        `  ${label.padEnd(28)} ${t.ms.toFixed(1).padStart(8)} ms ${
          (100 * t.ms / timing.totalMs).toFixed(1).padStart(5)
        } %  ×${t.count}`
      ).join("\n") +
      `\n  ${describePeak(rt.pool.stats())}; weights ${
        formatBytes(rt.pool.stats().liveByCategory.weights ?? 0)
      }`,
  );
  return forward;
}

if (HAS_SHARED) {
  const forward = await setup();
  Deno.bench({ name: `vits encoder forward ${SIZE}×${SIZE}`, n: 3, warmup: 1, fn: forward });
} else {
  console.log(`skipping the encoder bench: ${REFERENCE_DIR} is absent`);
}
