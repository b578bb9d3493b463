/**
 * The page (`deno task serve`) in a real headless Chromium, WebGPU on the CPU through SwiftShader, driven
 * over the DevTools protocol as a user would use it: two images (a PNG and a JPEG) and checkpoint A opened
 * from disk through the file inputs, checkpoint B (tiny-a after one training step) by URL. The depth is read back and held to the
 * Deno path (rel_l2 ≤ 1e-5: another WebGPU, another order of float sums); then the difference map, the
 * read-out under the pointer, every export as downloaded (NPY, 16-bit PNG, PLY), a dragged region's and a
 * loaded mask's flatness verdicts against trompe's metric under Deno, and a checkpoint cut short. A screenshot
 * stays in out/test-artifacts/page.png. Where no Chromium is installed the test skips with one line (CI
 * installs it: .ci/run).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { flatRegions } from "../../core/eval/flat.ts";
import { readImageRgb } from "../../core/io/image.ts";
import { parseNpy } from "../../core/io/npy.ts";
import { decodePng, writePng } from "../../core/io/png.ts";
import { loadDepthAnythingV2 } from "../../core/nn/model/load.ts";
import { servePage } from "../../page/server.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";
import { type DevTools, findChromium, launchChromium } from "./chromium.ts";

const chromium = await findChromium();
const ARTIFACTS = new URL("../../out/test-artifacts/", import.meta.url).pathname;
const INFERENCE_MS = 240_000;
const [WIDTH, HEIGHT] = [120, 90];

function browserTest(name: string, fn: () => Promise<void>): void {
  if ("path" in chromium) return sharedTest(name, fn);
  console.log(`skipping the page tests: ${chromium.missing}`);
  Deno.test({ name, ignore: true, fn });
}

/** The files the page opens: tiny-a, its trained twin, the image, a mask, and a checkpoint cut short. */
async function pageFiles(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "trompe-page-files-" });
  const tinyA = join(REFERENCE_DIR, "tiny-a");
  await Deno.copyFile(join(tinyA, "weights.safetensors"), join(dir, "tiny-a.safetensors"));
  await Deno.copyFile(join(tinyA, "after_step.safetensors"), join(dir, "tiny-a-step.safetensors"));
  await Deno.copyFile(join(tinyA, "config.json"), join(dir, "tiny-a.json"));
  await Deno.copyFile(join(REFERENCE_DIR, "images/demo01_90x120.png"), join(dir, "image.png"));
  await Deno.copyFile(join(REFERENCE_DIR, "images/demo05_131x97.jpg"), join(dir, "second.jpg"));
  await writePng(join(dir, "mask.png"), { width: WIDTH, height: HEIGHT, channels: 1, data: MASK });
  const weights = await Deno.readFile(join(tinyA, "weights.safetensors"));
  await Deno.writeFile(join(dir, "cut.safetensors"), weights.subarray(0, 1000));
  return dir;
}

/** A mask as an augmented set stores it: art (2) in a block at x 10–49, y 50–79. */
const MASK = new Uint8Array(WIDTH * HEIGHT);
for (let y = 50; y < 80; y++) MASK.fill(2, y * WIDTH + 10, y * WIDTH + 50);

async function deno(weights: string, image = "demo01_90x120.png"): Promise<Float32Array> {
  const dir = join(REFERENCE_DIR, "tiny-a");
  const model = await loadDepthAnythingV2(join(dir, weights), { configFile: join(dir, "config.json") });
  const { depth } = await model.infer(await readImageRgb(join(REFERENCE_DIR, "images", image)), 70);
  model.dispose();
  return depth;
}

/** trompe's flatness error under Deno, for the region `labels` marks. */
function flatnessError(depth: Float32Array, labels: Uint8Array): number {
  const none = new Float32Array(depth.length);
  const [region] = flatRegions(depth, none, none, labels, WIDTH, HEIGHT, { kind: "depth" });
  return region.flatnessError;
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

async function settled(page: DevTools): Promise<string> {
  await page.until(`["done", "error"].includes(document.body?.dataset.state)`, INFERENCE_MS);
  return await page.evaluate<string>("document.body.dataset.state");
}

const text = (page: DevTools, id: string) =>
  page.evaluate<string>(`document.getElementById("${id}").textContent`);

/** Puts files into a file input, as choosing them in the dialog does (its change event fires). */
async function chooseFiles(page: DevTools, selector: string, ...paths: string[]): Promise<void> {
  const { root } = await page.send("DOM.getDocument") as { root: { nodeId: number } };
  const { nodeId } = await page.send("DOM.querySelector", { nodeId: root.nodeId, selector });
  await page.send("DOM.setFileInputFiles", { nodeId, files: paths });
}

/**
 * The viewport point over image pixel (x, y) of the first depth map (drawn 1:1), scrolled into view: whole
 * CSS pixels, since the protocol's mouse events land on whole pixels and the map's edge may not.
 */
async function pointOnMap(page: DevTools, x: number, y: number): Promise<{ x: number; y: number }> {
  const box = await page.evaluate<{ left: number; top: number }>(
    `(() => { const canvas = document.querySelector("canvas.depth"); canvas.scrollIntoView();
      const { left, top } = canvas.getBoundingClientRect(); return { left, top }; })()`,
  );
  return { x: Math.ceil(box.left + x), y: Math.ceil(box.top + y) };
}

browserTest(
  "the page runs tiny-a in Chromium's WebGPU as Deno does: compare, read out, export, judge a region, report errors",
  async () => {
    const files = await pageFiles();
    const downloads = await Deno.makeTempDir({ prefix: "trompe-page-downloads-" });
    const server = await servePage({ port: 0, files });
    const browser = await launchChromium((chromium as { path: string }).path);
    try {
      const page = await browser.newPage();
      await page.send("Page.enable");
      // Tall enough that the screenshot holds the whole page, form to verdicts.
      await page.send("Emulation.setDeviceMetricsOverride", {
        width: 1100,
        height: 1250,
        deviceScaleFactor: 1,
        mobile: false,
      });
      await page.send("Page.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
      const query = "weights-b=/files/tiny-a-step.safetensors&config-b=/files/tiny-a.json";
      await page.send("Page.navigate", { url: `${server.url}?${query}` });
      await page.until(`document.readyState === "complete"`, 10_000);
      await chooseFiles(page, "#image-file", join(files, "image.png"), join(files, "second.jpg"));
      await chooseFiles(page, "#weights-a-file", join(files, "tiny-a.safetensors"));
      await chooseFiles(page, "#config-a-file", join(files, "tiny-a.json"));
      await page.evaluate(`document.getElementById("run").click()`);
      assert.equal(await settled(page), "done", await text(page, "error"));

      // Depth: the browser's against Deno's.
      const fromPage = await page.evaluate<number[][]>(
        "globalThis.trompePage.rows[0].predictions.map((p) => Array.from(p.depth))",
      );
      const [a, b] = [await deno("weights.safetensors"), await deno("after_step.safetensors")];
      const errors = [relL2(fromPage[0], a), relL2(fromPage[1], b)];
      console.log(
        `Chromium (SwiftShader) against Deno (lavapipe), rel_l2: A ${errors[0].toExponential(2)}, ` +
          `B ${errors[1].toExponential(2)}`,
      );
      for (const error of errors) assert(error <= 1e-5, `rel_l2 ${error}`);
      const difference = await page.evaluate<number[]>(
        "Array.from(globalThis.trompePage.rows[0].difference)",
      );
      assert(relL2(difference, b.map((v, i) => v - a[i])) <= 1e-3);
      assert.equal(await page.evaluate<number>("document.querySelectorAll('.row figure').length"), 6);
      // The second image, a JPEG: the browser's decoder against @jsquash/jpeg's libjpeg-turbo under Deno.
      const second = await page.evaluate<number[]>(
        "Array.from(globalThis.trompePage.rows[1].predictions[0].depth)",
      );
      const secondError = relL2(second, await deno("weights.safetensors", "demo05_131x97.jpg"));
      console.log(`second image (JPEG), A: rel_l2 ${secondError.toExponential(2)}`);
      assert(secondError <= 1e-5, `rel_l2 ${secondError}`);

      // The read-out under the pointer.
      await page.send("Input.dispatchMouseEvent", { type: "mouseMoved", ...await pointOnMap(page, 60, 45) });
      const readout = await text(page, "readout");
      const [, x, y, shownA] =
        readout.match(/^image\.png, x (\d+), y (\d+): A ([\d.]+) m, B [\d.]+ m, B − A /) ?? [];
      assert(x === "60" && y === "45", readout);
      assert.equal(Number(shownA), Number(fromPage[0][45 * WIDTH + 60].toPrecision(4)), readout);

      // Exports, as downloaded.
      for (const label of ["NPY", "PNG 16-bit", "PLY"]) {
        await page.evaluate(`[...document.querySelectorAll(".row:first-child figure:first-child button")]
          .find((b) => b.textContent === "${label}").click()`);
      }
      const npy = parseNpy(await waitForFile(join(downloads, "image-a.npy"), 10_000), "image-a.npy");
      assert.deepEqual(npy.shape, [HEIGHT, WIDTH]);
      assert.deepEqual(Array.from(npy.data as Float32Array), fromPage[0].map(Math.fround));
      const png = decodePng(await waitForFile(join(downloads, "image-a_depth16.png"), 10_000), "png");
      assert(png.data instanceof Uint16Array && png.width === WIDTH && png.height === HEIGHT);
      assert.deepEqual(Array.from(png.data), fromPage[0].map((d) => Math.min(65535, Math.round(d * 1000))));
      const ply = await waitForFile(join(downloads, "image-a.ply"), 10_000);
      const header = new TextDecoder().decode(ply.subarray(0, 300));
      assert.match(header, new RegExp(`element vertex ${WIDTH * HEIGHT}\n`));
      assert.equal(ply.length, header.indexOf("end_header\n") + 11 + 15 * WIDTH * HEIGHT);

      // A region dragged on map A: x 30–69, y 20–59.
      const [from, to] = [await pointOnMap(page, 30, 20), await pointOnMap(page, 69, 59)];
      await page.send("Input.dispatchMouseEvent", {
        type: "mousePressed",
        button: "left",
        clickCount: 1,
        ...from,
      });
      await page.send("Input.dispatchMouseEvent", { type: "mouseMoved", button: "left", ...to });
      await page.send("Input.dispatchMouseEvent", {
        type: "mouseReleased",
        button: "left",
        clickCount: 1,
        ...to,
      });
      const rectangle = new Uint8Array(WIDTH * HEIGHT);
      for (let row = 20; row < 60; row++) rectangle.fill(2, row * WIDTH + 30, row * WIDTH + 70);
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.evaluate("window.scrollTo(0, 0)");
      const shot = await page.send("Page.captureScreenshot", { format: "png" });
      const screenshot = Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0));
      await Deno.writeFile(join(ARTIFACTS, "page.png"), screenshot);
      for (
        const [labels, what, pixels] of [
          [rectangle, "rectangle (30, 20)–(69, 59)", 1600],
          [MASK, "mask mask.png", 1200],
        ] as const
      ) {
        if (labels === MASK) await chooseFiles(page, "#mask-file", join(files, "mask.png"));
        await page.until(
          `document.querySelector(".row:first-child .verdicts li")?.textContent.includes("${what}")`,
          10_000,
        );
        const verdicts = await page.evaluate<string[]>(
          `[...document.querySelectorAll(".row:first-child .verdicts li")].map((li) => li.textContent)`,
        );
        assert.equal(verdicts.length, 2, verdicts.join("\n"));
        assert(
          verdicts[0].startsWith(`A: tiny-a.safetensors, ${what}: region 1 (art, ${pixels} px)`),
          verdicts[0],
        );
        const shown = await page.evaluate<number[]>(
          "globalThis.trompePage.rows[0].regions.map((r) => r[0].flatnessError)",
        );
        const expected = [flatnessError(a, labels), flatnessError(b, labels)];
        console.log(
          `${what}: flatness error A ${shown[0].toFixed(5)}, B ${shown[1].toFixed(5)} ` +
            `(Deno ${expected[0].toFixed(5)}, ${expected[1].toFixed(5)})`,
        );
        for (const i of [0, 1]) assert(Math.abs(shown[i] - expected[i]) <= 1e-4 * expected[i], `${shown[i]}`);
      }

      // A checkpoint cut short: one line saying so, on the page.
      await page.send("Page.navigate", {
        url: `${server.url}?image=/files/image.png&weights-a=/files/cut.safetensors&run`,
      });
      await page.until(`document.body?.dataset.state === "error"`, 30_000);
      assert.match(await text(page, "error"), /^cut\.safetensors: /);
      page.close();
    } finally {
      await browser.close();
      await server.close();
      await Deno.remove(files, { recursive: true });
      await Deno.remove(downloads, { recursive: true });
    }
  },
);
