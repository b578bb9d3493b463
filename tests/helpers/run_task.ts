import { runTaskFile as runTaskOutput } from "../shared.ts";

/** Runs a task file as a user would, returning its exit code and stdout and stderr as one text. */
export async function runTaskFile(
  task: string,
  args: readonly string[],
): Promise<{ code: number; text: string }> {
  const { code, stdout, stderr } = await runTaskOutput(task, args);
  return { code, text: stdout + stderr };
}
