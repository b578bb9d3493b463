/**
 * `deno task data` from the command line on trompe's committed Hypersim fixtures: the scene and frame
 * counts of the tree, the depth range and invalid fraction computed here from the HDF5 files with the
 * official planar conversion written out (f = 886.81·W/1024, centred principal point), every problem of a
 * damaged copy named with its file, the preview sheet, and bad flags.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join, resolve } from "node:path";
import { readHdf5Dataset } from "../../core/io/hdf5.ts";
import { decodePng } from "../../core/io/png.ts";
import { runTaskFile } from "../shared.ts";

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures/hypersim");

async function depthFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(join(dir, e.name));
      else if (e.name.endsWith(".depth_meters.hdf5")) found.push(join(dir, e.name));
    }
  };
  await walk(root);
  return found.sort();
}

Deno.test("deno task data on the fixtures: scenes, frames, resolution, planar depth range, invalid share", async () => {
  const run = await runTaskFile("data", ["--dataset", "hypersim", "--root", FIXTURES]);
  assert.equal(run.code, 0, run.stderr);
  const files = await depthFiles(FIXTURES);
  const scenes = new Map<string, number>();
  for (const f of files) {
    const scene = f.slice(FIXTURES.length + 1).split("/")[0];
    scenes.set(scene, (scenes.get(scene) ?? 0) + 1);
  }
  assert.match(
    run.stdout,
    new RegExp(`^hypersim: ${scenes.size} scenes, ${files.length} frames \\(${files.length} read\\)`),
  );
  for (const [scene, n] of scenes) assert.match(run.stdout, new RegExp(`^  ${scene}: ${n} frames$`, "m"));

  let [min, max, invalid, total] = [Infinity, -Infinity, 0, 0];
  let size = "";
  for (const f of files) {
    const { shape, data } = await readHdf5Dataset(f);
    const [h, w] = shape;
    size = `${w}×${h}`;
    const focal = (886.81 * w) / 1024;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const d = Number(data[r * w + c]);
        total++;
        if (Number.isNaN(d)) {
          invalid++;
          continue;
        }
        const x = c - (w - 1) / 2, y = r - (h - 1) / 2;
        const planar = (d * focal) / Math.sqrt(x * x + y * y + focal * focal);
        min = Math.min(min, planar);
        max = Math.max(max, planar);
      }
    }
  }
  const line = run.stdout.match(/^resolution (\d+×\d+); depth ([\d.]+)–([\d.]+) m; invalid ([\d.]+) %$/m);
  assert.ok(line, run.stdout);
  assert.equal(line[1], size);
  // Printed to 3 decimals (metres) and 1 decimal (per cent); float16 storage rounds each value to 2^-11.
  assert.ok(Math.abs(Number(line[2]) - min) <= 5e-4 + 2e-3 * min, `min ${line[2]} vs ${min}`);
  assert.ok(Math.abs(Number(line[3]) - max) <= 5e-4 + 2e-3 * max, `max ${line[3]} vs ${max}`);
  assert.ok(
    Math.abs(Number(line[4]) - (100 * invalid) / total) <= 0.05,
    `invalid ${line[4]} vs ${(100 * invalid) / total}`,
  );
  assert.match(run.stdout, /^0 problems$/m);
});

Deno.test("deno task data on a damaged copy: every problem named with its file, the rest still read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-data-" });
  try {
    const root = join(dir, "hypersim");
    cpSync(FIXTURES, root, { recursive: true });
    const files = await depthFiles(root);
    // A depth file cut short, and another frame's RGB gone.
    const cut = files[0];
    await Deno.truncate(cut, 100);
    const orphan = files[files.length - 1];
    const rgb = orphan.replace("_geometry_hdf5", "_final_preview").replace(
      ".depth_meters.hdf5",
      ".tonemap.jpg",
    );
    await Deno.remove(rgb);
    const run = await runTaskFile("data", ["--dataset", "hypersim", "--root", root]);
    assert.equal(run.code, 3, run.stderr); // done, with problems found
    assert.match(run.stdout, new RegExp(`, ${files.length - 1} frames \\(${files.length - 2} read\\)`));
    assert.match(run.stdout, /^2 problems$/m);
    assert.ok(run.stdout.includes(`${cut}: not a readable HDF5 file`), run.stdout);
    assert.ok(run.stdout.includes(`${orphan}: depth without a tonemap.jpg`), run.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task data --preview: a contact sheet that decodes; bad flags are one line, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-data-" });
  try {
    const out = join(dir, "sheet.png");
    const run = await runTaskFile("data", [
      "--dataset",
      "hypersim",
      "--root",
      FIXTURES,
      "--preview",
      "4",
      "--out",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`preview of 4 frames: ${out.replaceAll(".", "\\.")}`));
    const sheet = decodePng(await Deno.readFile(out), out);
    // Four frames of 256×192 side by side or stacked, with captions: larger than one frame.
    assert.ok(sheet.width * sheet.height > 4 * 256 * 192, `${sheet.width}×${sheet.height}`);
    // The scan is recorded beside the sheet: what was read, each frame's statistics, every problem.
    const record = JSON.parse(await Deno.readTextFile(join(dir, "data.run.json")));
    assert.equal(record.task, "data");
    assert.equal(record.results.frames, record.results.stats.length);
    assert.deepEqual(record.results.problems, []);
    for (
      const [args, message] of [
        [["--dataset", "hypersim", "--root", FIXTURES, "--preview", "4"], /--out: is required/],
        [["--dataset", "kitti", "--root", FIXTURES], /--dataset: "kitti" is not one of/],
        [["--dataset", "hypersim"], /--root: is required/],
        [["--dataset", "hypersim", "--root", FIXTURES, "--planar", "bent"], /--planar: "bent" is not one of/],
      ] as const
    ) {
      const bad = await runTaskFile("data", [...args]);
      assert.equal(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
      const lines = bad.stderr.trim().split("\n");
      assert.equal(lines.length, 1, bad.stderr);
      assert.match(lines[0], /^error: bad-argument: /);
      assert.match(lines[0], message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
