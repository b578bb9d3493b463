/**
 * Training data: the frames of split files read through the dataset readers (augmented sets are in the
 * source layout, so they read the same way), a deterministic train/val split when no `--val-split` is
 * given, an epoch order drawn from (seed, epoch), and decoding in Deno workers ahead of the GPU with a
 * bounded queue, so the trainer waits only when the disk and the CPU cannot keep up.
 *
 * Every random choice is a hash of (seed, identity, epoch): the order, each crop and flip. The worker count
 * changes nothing, and a resumed run sees exactly what an uninterrupted one would.
 */
import { adapterFor } from "../data/adapters.ts";
import type { DatasetName } from "../data/datasets.ts";
import type { FrameRef } from "../data/frame_paths.ts";
import { splitTrainVal } from "../data/splits.ts";
import { TrompeError } from "../errors.ts";
import { hashUnit } from "../rng.ts";

export type { FrameRef };

export interface LoadJob {
  id: number;
  kind: "train" | "val";
  dataset: DatasetName;
  root: string;
  ref: FrameRef;
  size: number;
  seed: number;
  epoch: number;
}

export interface LoadedItem {
  /** Train: 3×size×size; val: 3×inputHeight×inputWidth (the official `image2tensor`). */
  image: Float32Array;
  /** Metres at height×width (the crop for train, the frame for val); 0 where invalid. */
  depth: Float32Array;
  valid: Uint8Array;
  height: number;
  width: number;
  inputHeight?: number;
  inputWidth?: number;
}

export type LoadReply = (LoadedItem & { id: number }) | { id: number; error: string };

export interface TrainValFrames {
  train: FrameRef[];
  val: FrameRef[];
  /** How val was chosen, for the run record. */
  valSource: string;
}

/** Share of frames that go to validation when no val split is given. */
export const VAL_FRACTION = 0.2;

/** The train and val frames: two split files, or one split divided 80/20 by a hash of (seed, frame). */
export async function listTrainVal(
  dataset: DatasetName,
  root: string,
  split: string,
  valSplit: string | undefined,
  seed: number,
): Promise<TrainValFrames> {
  const adapter = adapterFor(dataset);
  const { frames } = await adapter.list(root, split);
  if (frames.length === 0) {
    throw new TrompeError("bad-argument", "the split lists no frames", { subject: split });
  }
  if (valSplit) {
    return { train: frames, val: (await adapter.list(root, valSplit)).frames, valSource: valSplit };
  }
  const items = frames.map((ref) => ({ ref, id: ref.rgb, scene: ref.rgb.split("/")[0] }));
  const { train, val } = splitTrainVal(items, { seed, valFraction: VAL_FRACTION, by: "frame" });
  return {
    train: train.map((i) => i.ref),
    val: val.map((i) => i.ref),
    valSource: `${Math.round(VAL_FRACTION * 100)}% of ${split} by seed ${seed}`,
  };
}

/** The order of one epoch: frames sorted by a hash of (seed, epoch, frame), as a DataLoader shuffles. */
export function epochOrder(frames: readonly FrameRef[], seed: number, epoch: number): FrameRef[] {
  const keyed = frames.map((ref) => ({ ref, key: hashUnit(seed, "order", epoch, ref.rgb) }));
  keyed.sort((a, b) => a.key - b.key || (a.ref.rgb < b.ref.rgb ? -1 : 1));
  return keyed.map((k) => k.ref);
}

export interface LoaderOptions {
  dataset: DatasetName;
  root: string;
  /** Network input size (the crop for training, the lower-bound resize for validation). */
  size: number;
  seed: number;
  workers: number;
  /** Items decoded ahead of the consumer (the bounded queue's length). */
  prefetch?: number;
}

/** A pool of decoding workers handing items back in request order. */
export class SampleLoader {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: LoadReply) => void }>();
  private nextId = 0;
  private nextWorker = 0;

  constructor(readonly options: LoaderOptions) {
    for (let i = 0; i < Math.max(1, options.workers); i++) {
      const worker = new Worker(new URL("./loader_worker.ts", import.meta.url), { type: "module" });
      worker.onmessage = (event: MessageEvent<LoadReply>) => {
        const entry = this.pending.get(event.data.id);
        this.pending.delete(event.data.id);
        entry?.resolve(event.data);
      };
      this.workers.push(worker);
    }
  }

  private request(kind: LoadJob["kind"], ref: FrameRef, epoch: number): Promise<LoadReply> {
    const id = this.nextId++;
    const { dataset, root, size, seed } = this.options;
    const job: LoadJob = { id, kind, dataset, root, ref, size, seed, epoch };
    const worker = this.workers[this.nextWorker++ % this.workers.length];
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      worker.postMessage(job);
    });
  }

  /**
   * Items of `refs` in order (train transform for `epoch`, or validation inputs), at most `prefetch` in
   * flight. A frame that cannot be read is yielded as an error for the caller to count and skip.
   */
  async *items(
    kind: LoadJob["kind"],
    refs: readonly FrameRef[],
    epoch = 0,
  ): AsyncGenerator<{ ref: FrameRef; item?: LoadedItem; error?: string }> {
    const ahead = Math.max(1, this.options.prefetch ?? 2 * this.workers.length);
    const queue: Promise<LoadReply>[] = [];
    let next = 0;
    for (const ref of refs) {
      while (next < refs.length && queue.length < ahead) queue.push(this.request(kind, refs[next++], epoch));
      const reply = await queue.shift()!;
      if ("error" in reply) yield { ref, error: reply.error };
      else yield { ref, item: reply };
    }
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
