/**
 * What every fault case needs: a task run as a user runs it, its one error line, a scratch folder, copies of
 * the committed fixtures to break, and the hashes of a folder's files so a test can show nothing it was given
 * (or wrote before) changed.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { SMALL_MODEL } from "../../core/study/small_model.ts";
import { runTaskFile, type TaskRun } from "../shared.ts";

export const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;

export type { TaskRun };

/** A task run as a user runs it (tests/shared.ts's runner). */
export const runTask: (task: string, args: readonly string[]) => Promise<TaskRun> = runTaskFile;

/** Asserts the run ended with `code` and a single `error:` line on stderr matching every pattern. */
export function assertOneErrorLine(run: TaskRun, code: number, ...patterns: RegExp[]): string {
  const context = `exit ${run.code}\n${run.stdout}\n${run.stderr}`;
  assert.equal(run.code, code, context);
  const lines = run.stderr.trim().split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(lines.length, 1, context);
  for (const pattern of patterns) assert.match(lines[0], pattern, context);
  return lines[0];
}

/** sha256 of every file under `dir`, by path relative to it. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  const walk = async (folder: string) => {
    for await (const entry of Deno.readDir(folder)) {
      const path = join(folder, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) {
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
        hashes.set(relative(dir, path), [...new Uint8Array(digest)].map((b) => b.toString(16)).join(""));
      }
    }
  };
  await walk(dir);
  return hashes;
}

/** Asserts that the files `before` recorded are all still there with the same bytes. */
export async function assertUnchanged(dir: string, before: Map<string, string>, what: string): Promise<void> {
  const after = await hashTree(dir);
  for (const [path, hash] of before) {
    assert.equal(after.get(path), hash, `${what}: ${path} changed or vanished`);
  }
}

export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

/** Runs `body` in a fresh scratch folder, removed afterwards. */
export async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "trompe-reliability-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The demo's small model config as a file, for `train --init` runs that take seconds. */
export async function smallModelConfig(dir: string): Promise<string> {
  const path = join(dir, "model.json");
  await Deno.writeTextFile(path, JSON.stringify(SMALL_MODEL));
  return path;
}
