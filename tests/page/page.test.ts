/**
 * The page (`deno task serve`) in a real headless Chromium, WebGPU on the CPU through SwiftShader, driven
 * over the DevTools protocol: tiny-a and its one-step-trained twin on a reference image, the depth read back
 * and held to the Deno path (rel_l2 ≤ 1e-5: another WebGPU, another order of float sums), the difference
 * map, the read-out under the pointer, the NPY export as downloaded, and a corrupt checkpoint's message.
 * A screenshot of the result stays in out/test-artifacts/page.png. Where no Chromium is installed the test
 * skips with one line (CI installs it: .ci/run).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readImageRgb } from "../../core/io/image.ts";
import { parseNpy } from "../../core/io/npy.ts";
import { loadDepthAnythingV2 } from "../../core/nn/model/load.ts";
import { servePage } from "../../page/server.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";
import { type DevTools, findChromium, launchChromium } from "./chromium.ts";

const chromium = findChromium();
const ARTIFACTS = new URL("../../out/test-artifacts/", import.meta.url).pathname;
const INFERENCE_MS = 240_000;

function browserTest(name: string, fn: () => Promise<void>): void {
  if (chromium) return sharedTest(name, fn);
  console.log("skipping the page tests: no chromium on PATH (apt-get install -y chromium)");
  Deno.test({ name, ignore: true, fn });
}

/** A folder for the page's /files/: tiny-a, its trained twin, the image, and a checkpoint cut short. */
async function pageFiles(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "trompe-page-files-" });
  const tinyA = join(REFERENCE_DIR, "tiny-a");
  await Deno.copyFile(join(tinyA, "weights.safetensors"), join(dir, "tiny-a.safetensors"));
  await Deno.copyFile(join(tinyA, "after_step.safetensors"), join(dir, "tiny-a-step.safetensors"));
  await Deno.copyFile(join(tinyA, "config.json"), join(dir, "tiny-a.json"));
  await Deno.copyFile(join(REFERENCE_DIR, "images/demo01_90x120.png"), join(dir, "image.png"));
  const weights = await Deno.readFile(join(tinyA, "weights.safetensors"));
  await Deno.writeFile(join(dir, "cut.safetensors"), weights.subarray(0, 1000));
  return dir;
}

async function open(page: DevTools, url: string): Promise<string> {
  await page.send("Page.navigate", { url });
  await page.until(
    `document.body?.dataset.state === "done" || document.body?.dataset.state === "error"`,
    INFERENCE_MS,
  );
  return await page.evaluate<string>("document.body.dataset.state");
}

async function deno(weights: string): Promise<Float32Array> {
  const dir = join(REFERENCE_DIR, "tiny-a");
  const model = await loadDepthAnythingV2(join(dir, weights), { configFile: join(dir, "config.json") });
  const { depth } = await model.infer(
    await readImageRgb(join(REFERENCE_DIR, "images/demo01_90x120.png")),
    70,
  );
  model.dispose();
  return depth;
}

async function waitForFile(path: string, timeoutMs: number): Promise<Uint8Array> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await Deno.readFile(path);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

browserTest(
  "the page runs tiny-a in Chromium's WebGPU as Deno does, compares two, exports, and says what is wrong",
  async () => {
    const files = await pageFiles();
    const downloads = await Deno.makeTempDir({ prefix: "trompe-page-downloads-" });
    const server = await servePage({ port: 0, files });
    const browser = await launchChromium(chromium!);
    try {
      const page = await browser.newPage();
      await page.send("Page.enable");
      await page.send("Page.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
      const query = "image=/files/image.png&weights-a=/files/tiny-a.safetensors&config-a=/files/tiny-a.json" +
        "&weights-b=/files/tiny-a-step.safetensors&config-b=/files/tiny-a.json&run";
      const state = await open(page, `${server.url}?${query}`);
      assert.equal(
        state,
        "done",
        await page.evaluate<string>(`document.getElementById("error").textContent`),
      );

      const fromPage = await page.evaluate<number[][]>(
        "globalThis.trompePage.results.map((r) => Array.from(r.depth))",
      );
      const [a, b] = [await deno("weights.safetensors"), await deno("after_step.safetensors")];
      const errors = [relL2(fromPage[0], a), relL2(fromPage[1], b)];
      console.log(
        `Chromium (SwiftShader) against Deno (lavapipe), rel_l2: A ${errors[0].toExponential(2)}, ` +
          `B ${errors[1].toExponential(2)}`,
      );
      for (const error of errors) assert(error <= 1e-5, `rel_l2 ${error}`);
      const difference = await page.evaluate<number[]>("Array.from(globalThis.trompePage.difference)");
      assert(relL2(difference, b.map((v, i) => v - a[i])) <= 1e-3);
      assert.equal(await page.evaluate<number>("document.querySelectorAll('#results figure').length"), 3);

      const box = await page.evaluate<{ x: number; y: number }>(
        `(() => { const canvas = document.querySelector("canvas.depth"); canvas.scrollIntoView();
        const r = canvas.getBoundingClientRect();
        return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`,
      );
      await page.send("Input.dispatchMouseEvent", { type: "mouseMoved", ...box });
      const readout = await page.evaluate<string>(`document.getElementById("readout").textContent`);
      // The map is drawn 1:1, so the pointer at its centre is over pixel (60, 45) give or take a rounding.
      const [, x, y, shownA] = readout.match(/^x (\d+), y (\d+): A ([\d.]+) m, B [\d.]+ m, B − A /) ?? [];
      assert(Math.abs(Number(x) - 60) <= 1 && Math.abs(Number(y) - 45) <= 1, readout);
      assert.equal(Number(shownA), Number(fromPage[0][Number(y) * 120 + Number(x)].toPrecision(4)), readout);

      await page.evaluate(`document.querySelector("#results figure button").click()`);
      const npy = parseNpy(await waitForFile(join(downloads, "image-a.npy"), 10_000), "image-a.npy");
      assert.deepEqual(npy.shape, [90, 120]);
      assert.deepEqual(Array.from(npy.data as Float32Array), fromPage[0].map(Math.fround));

      await Deno.mkdir(ARTIFACTS, { recursive: true });
      const shot = await page.send("Page.captureScreenshot", { format: "png" });
      await Deno.writeFile(
        join(ARTIFACTS, "page.png"),
        Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0)),
      );

      const broken = await open(
        page,
        `${server.url}?image=/files/image.png&weights-a=/files/cut.safetensors&run`,
      );
      assert.equal(broken, "error");
      const message = await page.evaluate<string>(`document.getElementById("error").textContent`);
      assert.match(message, /^cut\.safetensors: /, message);
      page.close();
    } finally {
      await browser.close();
      await server.close();
      await Deno.remove(files, { recursive: true });
      await Deno.remove(downloads, { recursive: true });
    }
  },
);
