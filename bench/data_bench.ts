/**
 * Dataset reading: frames/s to read and decode one sample (RGB JPEG + depth → planar metres + valid mask), one
 * thread, at the real sizes: Hypersim 1024×768 (gzip float16 HDF5 distance, official planar conversion) and
 * vKITTI2 1242×375 (uint16 PNG centimetres). The frames are fixture scenes written in the real formats.
 */
import { join } from "node:path";
import { writeHypersimFixtures, writeVkitti2Fixtures } from "../core/data/fixtures/write.ts";
import { listHypersimFrames, readHypersimSample } from "../core/data/hypersim.ts";
import { listVkitti2Frames, readVkitti2Sample } from "../core/data/vkitti2.ts";
import type { BenchOptions, BenchRow, BenchSection } from "./lib.ts";

async function readAll(count: number, read: (i: number) => Promise<unknown>): Promise<number> {
  await read(0); // warm-up: codecs' wasm compiled, caches filled
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await read(i);
  return count / ((performance.now() - t0) / 1000);
}

export async function measure(options: BenchOptions): Promise<BenchSection> {
  const frames = options.quick ? 3 : 12;
  const passes = options.quick ? 1 : 3;
  const dir = await Deno.makeTempDir({ prefix: "trompe-data-bench-" });
  try {
    const rows: BenchRow[] = [];
    const hypersimRoot = join(dir, "hypersim");
    await writeHypersimFixtures(hypersimRoot, { count: frames, width: 1024, height: 768, seed: 1 });
    const hypersim = (await listHypersimFrames(hypersimRoot)).frames;
    const hypersimRate = await readAll(
      hypersim.length * passes,
      (i) => readHypersimSample(hypersim[i % hypersim.length], { planar: "official" }),
    );
    rows.push({
      case: "Hypersim 1024×768: tonemap.jpg + depth_meters.hdf5 → planar",
      trompe: `${hypersimRate.toFixed(1)} frames/s`,
      note: `${hypersim.length} frames × ${passes}, one thread`,
    });
    const vkittiRoot = join(dir, "vkitti2");
    await writeVkitti2Fixtures(vkittiRoot, { count: frames, width: 1242, height: 375, seed: 1 });
    const vkitti = (await listVkitti2Frames(vkittiRoot)).frames;
    const vkittiRate = await readAll(
      vkitti.length * passes,
      (i) => readVkitti2Sample(vkitti[i % vkitti.length]),
    );
    rows.push({
      case: "vKITTI2 1242×375: rgb jpg + depth png → metres",
      trompe: `${vkittiRate.toFixed(1)} frames/s`,
      note: `${vkitti.length} frames × ${passes}, one thread`,
    });
    return { title: "Dataset reading (read + decode one sample)", rows };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
