import assert from "node:assert/strict";
import { join } from "node:path";
import { serveBench } from "../../bench/browser_server.ts";
import { randomArray } from "../shared.ts";

Deno.test("the browser bench's server: isolated page, onnxruntime-web's files, the input, files kept in", async () => {
  const files = await Deno.makeTempDir({ prefix: "trompe-bench-files-" });
  await Deno.mkdir(join(files, "tiny-a"));
  await Deno.writeTextFile(join(files, "tiny-a/config.json"), `{"embedDim": 64}`);
  const server = await serveBench(files);
  try {
    const get = (path: string) => fetch(new URL(path, server.url));
    const page = await get("/");
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.match(await page.text(), /<script type="module" src="\/bench\.js">/);
    const script = await get("/bench.js");
    assert.match(script.headers.get("content-type")!, /^text\/javascript/);
    assert.match(await script.text(), /trompeBench/);

    // onnxruntime-web's own files, typed so the browser compiles and imports them, isolated like the page.
    const wasm = await get("/ort/ort-wasm-simd-threaded.jsep.wasm");
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    assert.equal(wasm.headers.get("cross-origin-embedder-policy"), "require-corp");
    const magic = new Uint8Array(await wasm.arrayBuffer()).subarray(0, 4);
    assert.deepEqual(Array.from(magic), [0x00, 0x61, 0x73, 0x6d]);
    const module = await get("/ort/ort.bundle.min.mjs");
    assert.match(module.headers.get("content-type")!, /^text\/javascript/);
    await module.body?.cancel();

    const input = new Float32Array(await (await get("/input/2x3.f32")).arrayBuffer());
    assert.deepEqual(input, randomArray(18, 1));
    assert.deepEqual(await (await get("/files/tiny-a/config.json")).json(), { embedDim: 64 });
    for (const path of ["/files/tiny-a/absent.json", "/files/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/other"]) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
  } finally {
    await server.close();
    await Deno.remove(files, { recursive: true });
  }
});
