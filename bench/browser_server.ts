/**
 * The browser bench's server on 127.0.0.1: the bench page (bench/browser_page.ts, bundled as the page is),
 * onnxruntime-web's published files under /ort/, the reference models under /files/, and the network input
 * under /input/HxW.f32. Every reply carries the cross-origin-isolation headers, without which the browser
 * gives no SharedArrayBuffer and onnxruntime-web's wasm backend runs on one thread.
 */
import { randomArray } from "../tests/shared.ts";
import { bundlePage, fileResponse } from "../page/server.ts";

/** Pinned as everywhere in trompe; Deno resolves it to the package's entry inside node_modules. */
const ORT_ENTRY = import.meta.resolve("npm:onnxruntime-web@1.30.0");

const ISOLATED = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cache-control": "no-store",
};

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trompe browser bench</title></head>
<body data-state="loading"><script type="module" src="/bench.js"></script></body></html>
`;

export interface BenchServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  close(): Promise<void>;
}

/** onnxruntime-web's dist folder, where its wasm binaries and module files lie. */
function ortDist(): string {
  if (!ORT_ENTRY.startsWith("file:")) {
    throw new Error(
      `onnxruntime-web resolves to ${ORT_ENTRY}, not a file: the bench serves its files from node_modules ` +
        `(deno.json "nodeModulesDir": "auto")`,
    );
  }
  return new URL(".", ORT_ENTRY).pathname;
}

export async function serveBench(referenceDir: string): Promise<BenchServer> {
  const dist = ortDist();
  const script = await bundlePage(new URL("browser_page.ts", import.meta.url));
  const reply = (body: BodyInit, type: string) =>
    new Response(body, { headers: { ...ISOLATED, "content-type": type } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (path === "/") return reply(HTML, "text/html; charset=utf-8");
    if (path === "/bench.js") return reply(script, "text/javascript; charset=utf-8");
    const input = path.match(/^\/input\/(\d+)x(\d+)\.f32$/);
    if (input) {
      // The input bench/forward_bench.ts feeds trompe and onnxruntime-web under Deno.
      const values = randomArray(3 * Number(input[1]) * Number(input[2]), 1);
      return reply(values.buffer as ArrayBuffer, "application/octet-stream");
    }
    for (const [prefix, dir] of [["/ort/", dist], ["/files/", referenceDir]]) {
      if (!path.startsWith(prefix)) continue;
      const found = await fileResponse(dir, path.slice(prefix.length), ISOLATED);
      if (found) return found;
    }
    return new Response("not found", { status: 404, headers: ISOLATED });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, close: () => server.shutdown() };
}
