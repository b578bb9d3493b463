/// <reference lib="deno.worker" />
// For atomic.test.ts: writes one file atomically many times in lockstep with the other workers (a barrier on
// shared memory before each write, as workers starting on like frames are) and replies with the failures.
import { writeFileAtomic } from "../../core/io/atomic.ts";

self.onmessage = async (
  event: MessageEvent<{ path: string; times: number; barrier: Int32Array; parties: number }>,
) => {
  const { path, times, barrier, parties } = event.data;
  let failed = 0;
  for (let i = 0; i < times; i++) {
    const arrived = Atomics.add(barrier, 0, 1) + 1;
    while (Atomics.load(barrier, 0) < parties * (i + 1)) {
      Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 5);
    }
    if (arrived === parties * (i + 1)) Atomics.notify(barrier, 0);
    await writeFileAtomic(path, new TextEncoder().encode(`write ${i}`)).catch(() => failed++);
  }
  self.postMessage(failed);
};
