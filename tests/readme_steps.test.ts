/**
 * README's "The study, step by step" runs as written: every command of its block, on the fixture trees
 * standing in for /data, with a real-sized checkpoint under the official file name. Only flags that make it
 * fast are appended (a later flag overrides an earlier one of the same name), so a step that fails as
 * written — a missing flag, a wrong path — fails here.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { readSafetensors } from "../core/io/safetensors.ts";
import { writePth } from "../core/io/pth.ts";
import { FORMATS_DIR, REFERENCE_DIR, sharedTest } from "./shared.ts";

const REPO = resolve(import.meta.dirname!, "..");

/** The commands of README's step-by-step block, continuation lines joined, comments left out. */
export async function readmeSteps(): Promise<string[][]> {
  const readme = await Deno.readTextFile(join(REPO, "README.md"));
  const start = readme.indexOf("### The study, step by step");
  const open = readme.indexOf("```sh\n", start) + "```sh\n".length;
  const block = readme.slice(open, readme.indexOf("\n```", open));
  return block.replaceAll("\\\n", " ").split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().startsWith("#"))
    .map((line) => line.trim().split(/\s+/));
}

/**
 * What each task needs appended to run in seconds on the fixtures (and train, validation frames: the
 * fixture's four training frames leave none to the 20 % chosen by hash).
 */
const fast = (data: string): Record<string, string[]> => ({
  train: [
    "--max-steps",
    "1",
    "--img-size",
    "42",
    "--workers",
    "1",
    "--val-split",
    `${data}/hypersim-flat/splits/train.txt`,
  ],
  eval: ["--input-size", "70", "--sheet", "2", "--ply", "1"],
  probe: ["--input-size", "70", "--limit", "1", "--sizes", "0.02,0.3", "--levels", "2"],
});

/** Hypersim's official split CSV for the fixture scenes: the first two train, the third val. */
function splitCsv(): string {
  const rows = [
    "scene_name,camera_name,frame_id,included_in_public_release,exclude_reason,split_partition_name",
  ];
  for (const [scene, part] of [["ai_900_001", "train"], ["ai_900_002", "val"], ["ai_900_003", "train"]]) {
    for (const frame of [0, 1]) rows.push(`${scene},cam_00,${frame},True,,${part}`);
  }
  return rows.join("\n") + "\n";
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

sharedTest("README: the study's step-by-step commands run as written on the fixture trees", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-readme-" });
  try {
    const data = join(dir, "data");
    await copyTree(join(REPO, "fixtures/hypersim"), join(data, "hypersim"));
    await Deno.writeTextFile(join(data, "hypersim/metadata_images_split_scene_v1.csv"), splitCsv());
    await copyTree(join(FORMATS_DIR, "art"), join(data, "art"));
    // A ViT-S under the released metric model's file name (trompe reads the size from the weights).
    const vits = await readSafetensors(join(REFERENCE_DIR, "vits-518/weights.safetensors"));
    await writePth(
      join(dir, "depth_anything_v2_metric_hypersim_vitl.pth"),
      new Map(vits.names().map((n) => [n, { shape: [...vits.shape(n)], data: vits.float32(n) }])),
    );

    const steps = await readmeSteps();
    assert.ok(steps.length >= 6, `${steps.length} commands`);
    for (const words of steps) {
      assert.deepEqual(words.slice(0, 4), ["npx", "-y", "deno@2.9.6", "task"], words.join(" "));
      const task = words[4];
      const args = [
        ...words.slice(5).map((w) => w.replaceAll("/data/", `${data}/`)),
        ...(fast(data)[task] ?? []),
      ];
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(REPO, "tasks", `${task}.ts`), ...args],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, `deno task ${task} ${args.join(" ")}\n${text}`);
    }
    for (
      const file of ["out/data.png", "runs/flat/best.pth", "out/eval/report.md", "out/compare/compare.md"]
    ) {
      assert.ok((await Deno.stat(join(dir, file))).size > 0, file);
    }
    assert.ok((await Deno.stat(join(dir, "out/probe/report.md"))).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
