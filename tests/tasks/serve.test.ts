/**
 * `deno task serve`: bad flags are one line and a non-zero exit before anything is bundled or bound; the page
 * itself is tested in a browser (tests/page/page.test.ts).
 */
import assert from "node:assert/strict";
import { runTaskFile } from "../helpers/run_task.ts";

Deno.test("serve refuses a port out of range and a --files that is not a folder, in one line each", async () => {
  const port = await runTaskFile("serve", ["--port", "70000"]);
  assert.equal(port.code, 2, port.text);
  assert.match(port.text.trim(), /^error: bad-argument: --port: 70000 is not a port$/);
  const files = await runTaskFile("serve", ["--files", "/nonexistent/trompe-files"]);
  assert.equal(files.code, 1, files.text);
  assert.match(files.text.trim(), /^error: not-found: \/nonexistent\/trompe-files: not a folder$/);
});

Deno.test("serve --help documents every flag and the browser flags for a machine without a GPU", async () => {
  const { code, text } = await runTaskFile("serve", ["--help"]);
  assert.equal(code, 0, text);
  for (const flag of ["--port", "--host", "--files", "--use-webgpu-adapter=swiftshader"]) {
    assert(text.includes(flag), flag);
  }
});
