/**
 * trompe imported from a URL, as a user's script would import it from a web server or JSR: the repository is
 * served on 127.0.0.1, and a fresh process without the repository's deno.json runs tiny-a through
 * `import("http://127.0.0.1:PORT/mod.ts")`. Its depth must be the local checkout's, bit for bit, and no
 * kernel file may be fetched: the WGSL travels inside kernels/sources.ts. The augmentation's workers load
 * from the server too, and write the same bytes as the checkout's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";
import { serveTree } from "./serve_tree.ts";
import { runWithoutConfig } from "./run_script.ts";

const repo = new URL("../../", import.meta.url).pathname;
const tinyA = join(REFERENCE_DIR, "tiny-a");
const image = join(REFERENCE_DIR, "images/demo01_90x120.png");

async function predictTiny(entry: string, out: string, flags: readonly string[] = []): Promise<Uint8Array> {
  const weights = join(tinyA, "weights.safetensors");
  await runWithoutConfig("predict_tiny.ts", [entry, weights, join(tinyA, "config.json"), image, out], flags);
  return await Deno.readFile(out);
}

sharedTest(
  "trompe imported from http://127.0.0.1/mod.ts predicts tiny-a bit for bit as the checkout",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "trompe-url-" });
    const served = serveTree(repo);
    try {
      const local = await predictTiny(new URL("../../mod.ts", import.meta.url).href, join(dir, "local.f32"));
      // --reload: a port used before must not bring back modules cached from an older tree.
      const remote = await predictTiny(`${served.url}mod.ts`, join(dir, "remote.f32"), [
        `--reload=${served.url}`,
      ]);
      assert(served.requested.includes("/kernels/sources.ts"), "the kernels did not come from the server");
      assert.deepEqual(served.requested.filter((p) => p.endsWith(".wgsl")), []);
      const depth = new Float32Array(local.buffer, local.byteOffset, local.byteLength / 4);
      assert.equal(depth.length, 120 * 90);
      assert(
        depth.every(Number.isFinite) && Math.max(...depth) > Math.min(...depth),
        "depth is not a depth map",
      );
      console.log(
        `${served.requested.length} modules fetched over HTTP; ${depth.length} depths, bitwise equal`,
      );
      assert.deepEqual(remote, local);
    } finally {
      await served.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** Every file under `dir` but run records (they hold timings), by relative path. */
async function treeBytes(dir: string, under = ""): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(join(dir, under))) {
    const path = join(under, entry.name);
    if (entry.isDirectory) { for (const [p, b] of await treeBytes(dir, path)) files.set(p, b); }
    else if (!entry.name.endsWith(".run.json")) files.set(path, await Deno.readFile(join(dir, path)));
  }
  return files;
}

Deno.test("augmentation workers load from http://127.0.0.1 too, and write what the checkout writes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-url-augment-" });
  const served = serveTree(repo);
  const root = join(repo, "fixtures/hypersim");
  try {
    await runWithoutConfig("augment_two.ts", [
      new URL("../../mod.ts", import.meta.url).href,
      root,
      join(dir, "local"),
    ]);
    await runWithoutConfig("augment_two.ts", [`${served.url}mod.ts`, root, join(dir, "remote")], [
      `--reload=${served.url}`,
    ]);
    assert(served.requested.includes("/core/augment/worker.ts"), "the worker did not come from the server");
    const [local, remote] = [await treeBytes(join(dir, "local")), await treeBytes(join(dir, "remote"))];
    assert(local.size >= 8, `${local.size} files`);
    assert.deepEqual([...remote.keys()].sort(), [...local.keys()].sort());
    for (const [path, bytes] of local) assert.deepEqual(remote.get(path), bytes, path);
  } finally {
    await served.close();
    await Deno.remove(dir, { recursive: true });
  }
});
