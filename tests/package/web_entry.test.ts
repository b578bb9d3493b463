/**
 * web.ts is what a browser can import: at run time it loads trompe's own modules and zod, nothing from
 * `node:`, and it runs tiny-a with the Deno namespace removed, bit for bit as mod.ts does under Deno.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readImageRgb } from "../../core/io/image.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";
import { runWithoutConfig } from "./run_script.ts";

const web = new URL("../../web.ts", import.meta.url);
const tinyA = join(REFERENCE_DIR, "tiny-a");
const imagePath = join(REFERENCE_DIR, "images/demo01_90x120.png");

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string } }[];
}

/** The modules web.ts loads at run time: its graph along value imports (type-only imports are erased). */
async function runtimeGraph(): Promise<string[]> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", web.pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(stdout));
  const modules = new Map<string, GraphModule>(info.modules.map((m: GraphModule) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [web.href];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code) stack.push(dep.code.specifier);
    }
  }
  return [...seen];
}

Deno.test("web.ts loads only trompe's modules and zod at run time: no node: builtin, no file I/O module", async () => {
  const graph = await runtimeGraph();
  const repo = new URL("../../", import.meta.url).href;
  const outside = graph.filter((s) => !s.startsWith(repo));
  assert.deepEqual(outside, ["npm:zod@4.6.7"]);
  const own = graph.map((s) => s.slice(repo.length));
  assert(own.includes("core/nn/model/depth_anything.ts") && own.includes("kernels/sources.ts"));
  for (const fileModule of ["core/io/atomic.ts", "core/io/zip.ts", "core/io/pth.ts"]) {
    assert(!own.includes(fileModule), `web.ts reaches ${fileModule}`);
  }
});

sharedTest("web.ts runs tiny-a without the Deno namespace, bit for bit as mod.ts under Deno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-web-" });
  try {
    const weights = join(tinyA, "weights.safetensors");
    const config = join(tinyA, "config.json");
    const image = await readImageRgb(imagePath);
    const rgbFile = join(dir, "image.rgb");
    await Deno.writeFile(rgbFile, image.data);
    const webOut = join(dir, "web.f32");
    await runWithoutConfig("predict_tiny_web.ts", [
      web.href,
      weights,
      config,
      rgbFile,
      String(image.width),
      String(image.height),
      webOut,
    ]);
    const modOut = join(dir, "mod.f32");
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await runWithoutConfig("predict_tiny.ts", [mod, weights, config, imagePath, modOut]);
    const [fromWeb, fromMod] = [await Deno.readFile(webOut), await Deno.readFile(modOut)];
    assert.equal(fromWeb.byteLength, image.width * image.height * 4);
    assert.deepEqual(fromWeb, fromMod);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
