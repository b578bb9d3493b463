import assert from "node:assert/strict";
import { join } from "node:path";

Deno.test("two workers writing the same file atomically never collide on a temporary name", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "intrinsic.txt");
  const barrier = new Int32Array(new SharedArrayBuffer(4));
  const workers = [0, 1].map(() =>
    new Worker(new URL("./atomic_worker.ts", import.meta.url), { type: "module" })
  );
  try {
    const failed = await Promise.all(workers.map((worker) =>
      new Promise<number>((resolve) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.postMessage({ path, times: 200, barrier, parties: 2 });
      })
    ));
    assert.deepEqual(failed, [0, 0]);
    assert.match(await Deno.readTextFile(path), /^write \d+$/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["intrinsic.txt"]);
  } finally {
    workers.forEach((worker) => worker.terminate());
    await Deno.remove(dir, { recursive: true });
  }
});
