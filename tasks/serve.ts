/**
 * `deno task serve`: the browser page that runs trompe's WGSL Depth Anything V2 in WebGPU — open images and
 * one or two checkpoints, see depth with its scale, the difference, and export NPY.
 */
import { intFlag, parseFlags, stringFlags } from "../core/cli/flags.ts";
import { runTask } from "../core/cli/main.ts";
import { TrompeError } from "../core/errors.ts";
import { servePage } from "../page/server.ts";

const HELP = `deno task serve [--port N] [--host NAME] [--files DIR]

Bundles page/app.ts with deno bundle and serves the page at http://HOST:PORT/ (default 127.0.0.1:8000).
Open it in a browser with WebGPU (Chrome/Chromium 113+); on a machine without a GPU, Chromium runs it on
the CPU with --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader.

  --port N      port (default 8000; 0 picks a free one)
  --host NAME   interface to listen on (default 127.0.0.1: this machine only)
  --files DIR   serve DIR under /files/, so the page can load checkpoints and images by URL, e.g.
                http://127.0.0.1:8000/?image=/files/room.png&weights-a=/files/model.safetensors&run`;

async function main(): Promise<void> {
  const { values } = parseFlags("serve", {
    options: {
      ...stringFlags("port", "host", "files"),
    },
  }, HELP);
  if (values.help) return;
  const port = intFlag(values.port, "--port", 8000);
  if (port > 65535) throw new TrompeError("bad-argument", `${port} is not a port`, { subject: "--port" });
  if (values.files !== undefined && !await isDirectory(values.files)) {
    throw new TrompeError("not-found", "not a folder", { subject: values.files });
  }
  const server = await servePage({ hostname: values.host, port, files: values.files });
  console.log(
    `trompe's page: ${server.url}${values.files ? ` (files from ${values.files} under /files/)` : ""}`,
  );
  console.log("Ctrl-C stops it.");
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

await runTask(main);
