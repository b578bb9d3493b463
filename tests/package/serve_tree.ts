/**
 * A folder served read-only on 127.0.0.1 at a port the system picks, as a static web server would serve
 * trompe's repository: what importing trompe "from a URL" meets. Deno takes a remote module by its
 * content type, so each kind of file gets its own.
 */
import { extname, join, normalize } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".js": "application/javascript",
  ".json": "application/json",
  ".wgsl": "text/plain",
};

export interface ServedTree {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  /** Paths asked for, in order (what a remote import fetched). */
  readonly requested: string[];
  close(): Promise<void>;
}

export function serveTree(root: string): ServedTree {
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = normalize(decodeURIComponent(new URL(request.url).pathname));
    requested.push(path);
    if (path.split("/").includes("..")) return new Response("outside the tree", { status: 403 });
    try {
      const body = await Deno.readFile(join(root, path));
      const type = CONTENT_TYPES[extname(path)] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    requested,
    close: () => server.shutdown(),
  };
}
