/**
 * A data-loader worker: reads one frame through the dataset reader and applies the official transform —
 * the train transform (resize, crop, flip, seeded by (seed, sample id, epoch)) or the validation input
 * (`image2tensor`, ground truth at its own size) — and posts the arrays back, transferred.
 */
/// <reference lib="deno.worker" />
import { adapterFor } from "../data/adapters.ts";
import { image2tensor } from "../data/preprocess.ts";
import { trainTransform } from "../data/transform.ts";
import { asTrompeError } from "../errors.ts";
import type { LoadedItem, LoadJob } from "./data_loader.ts";

/** Invalid pixels carry depth 0 so that no GPU comparison ever sees a NaN (WGSL does not promise IEEE NaN). */
function zeroInvalid(depth: Float32Array, valid: Uint8Array): Float32Array {
  for (let i = 0; i < depth.length; i++) if (!valid[i]) depth[i] = 0;
  return depth;
}

async function load(job: LoadJob): Promise<LoadedItem & { id: number }> {
  const sample = await adapterFor(job.dataset).read(job.root, job.ref);
  if (job.kind === "train") {
    const item = trainTransform(sample, {
      size: job.size,
      seed: job.seed,
      id: job.ref.rgb,
      epoch: job.epoch,
    });
    return {
      id: job.id,
      image: item.image,
      depth: zeroInvalid(Float32Array.from(item.depth), item.valid),
      valid: item.valid,
      height: job.size,
      width: job.size,
    };
  }
  const input = image2tensor(sample.rgb, job.size);
  return {
    id: job.id,
    image: input.data,
    inputHeight: input.shape[2],
    inputWidth: input.shape[3],
    depth: zeroInvalid(sample.depth, sample.valid),
    valid: sample.valid,
    height: sample.height,
    width: sample.width,
  };
}

self.onmessage = async (event: MessageEvent<LoadJob>) => {
  const job = event.data;
  try {
    const reply = await load(job);
    self.postMessage(reply, [reply.image.buffer, reply.depth.buffer, reply.valid.buffer] as Transferable[]);
  } catch (error) {
    const e = asTrompeError(error, job.ref.rgb);
    self.postMessage({ id: job.id, error: e.oneLine() });
  }
};
