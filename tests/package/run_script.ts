/**
 * Runs a script in a fresh Deno process without the repository's deno.json, lock file or node_modules — from
 * an empty folder of its own, as a user's script that imports trompe by URL would run; fails with the
 * process's output when it exits non-zero.
 */
export async function runWithoutConfig(
  script: string,
  args: readonly string[],
  flags: readonly string[] = [],
) {
  const path = new URL(script, import.meta.url).pathname;
  const cwd = await Deno.makeTempDir({ prefix: "trompe-user-" });
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "-A", ...flags, path, ...args],
      cwd,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    if (code !== 0) throw new Error(`${script} exited with ${code}:\n${text}`);
    return text;
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}
