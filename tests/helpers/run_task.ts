/** Runs a task file as a user would (`deno run -A tasks/NAME.ts ...`), returning its exit code and output. */
export async function runTaskFile(
  task: string,
  args: readonly string[],
): Promise<{ code: number; text: string }> {
  const path = new URL(`../../tasks/${task}.ts`, import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, text: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}
