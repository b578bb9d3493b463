/**
 * The page, served: page/app.ts bundled for the browser by `deno bundle` (Deno's own tooling, no framework),
 * page/index.html beside it, and optionally a folder of checkpoints and images under /files/ so the page can
 * load them by URL. Serves on 127.0.0.1 unless told otherwise.
 */
import { extname, join, normalize } from "node:path";
import { TrompeError } from "../core/errors.ts";

const PAGE_DIR = new URL(".", import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
};

/** `entry` (default page/app.ts) and everything it imports as one browser module. */
export async function bundlePage(entry = new URL("app.ts", PAGE_DIR)): Promise<Uint8Array<ArrayBuffer>> {
  const out = await Deno.makeTempFile({ prefix: "trompe-page-", suffix: ".js" });
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "browser", "--quiet", entry.pathname, "-o", out],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (code !== 0) {
      throw new TrompeError("io", `deno bundle failed: ${new TextDecoder().decode(stderr).trim()}`, {
        subject: entry.pathname,
      });
    }
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(out);
  }
}

export interface PageServerOptions {
  readonly hostname?: string;
  /** 0: a free port the system picks. */
  readonly port?: number;
  /** A folder served under /files/ (checkpoints, configs, images for the page to load by URL). */
  readonly files?: string;
}

export interface PageServer {
  /** `http://HOST:PORT/` */
  readonly url: string;
  close(): Promise<void>;
}

export async function servePage(options: PageServerOptions = {}): Promise<PageServer> {
  const app = await bundlePage();
  const html = await Deno.readFile(new URL("index.html", PAGE_DIR));
  const hostname = options.hostname ?? "127.0.0.1";
  const reply = (body: BodyInit, type: string) =>
    new Response(body, { headers: { "content-type": type, "cache-control": "no-store" } });
  const server = Deno.serve({ hostname, port: options.port ?? 8000, onListen() {} }, async (request) => {
    const path = normalize(decodeURIComponent(new URL(request.url).pathname));
    if (path === "/" || path === "/index.html") return reply(html, CONTENT_TYPES[".html"]);
    if (path === "/app.js") return reply(app, CONTENT_TYPES[".js"]);
    if (options.files && path.startsWith("/files/")) {
      const found = await fileResponse(options.files, path.slice("/files/".length));
      if (found) return found;
    }
    return new Response("not found", { status: 404 });
  });
  return { url: `http://${hostname}:${server.addr.port}/`, close: () => server.shutdown() };
}

/** `relative` under `dir`, streamed with its type and length; undefined where it is absent or climbs out. */
export async function fileResponse(
  dir: string,
  relative: string,
  headers: Record<string, string> = {},
): Promise<Response | undefined> {
  if (relative.split("/").includes("..")) return undefined;
  try {
    const file = await Deno.open(join(dir, relative));
    const { size } = await file.stat();
    const type = CONTENT_TYPES[extname(relative).toLowerCase()] ?? "application/octet-stream";
    return new Response(file.readable, {
      headers: { ...headers, "content-type": type, "content-length": String(size) },
    });
  } catch {
    return undefined;
  }
}
