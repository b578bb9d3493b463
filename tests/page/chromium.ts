/**
 * A headless Chromium driven over the DevTools protocol, for the page tests: the system's browser (Debian's
 * `chromium`), WebGPU on the CPU through SwiftShader, and a small protocol client — commands by id, events
 * by name — over the WebSocket Chromium prints when it starts.
 */

/** The flags that give headless Chromium WebGPU without a GPU (README: "the page"). */
export const WEBGPU_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
];

const NAMES = ["chromium", "chromium-browser", "google-chrome"];

/** The browser on PATH, if it runs (`--version` answers); otherwise why not, in a few words. */
export async function findChromium(): Promise<{ path: string } | { missing: string }> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of NAMES) {
      const path = `${dir}/${name}`;
      try {
        if (!Deno.statSync(path).isFile) continue;
      } catch {
        continue; // not in this folder
      }
      const { success } = await new Deno.Command(path, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      return success ? { path } : { missing: `${path} --version fails` };
    }
  }
  return { missing: "no chromium on PATH (apt-get install -y chromium)" };
}

interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** One DevTools target's connection: `send` a command and await its result; `waitFor` an event. */
export class DevTools {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, ((params: Record<string, unknown>) => void)[]>();

  private constructor(private readonly socket: WebSocket) {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.id !== undefined) {
        const call = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) call?.reject(new Error(`${message.error.message} (${message.error.code})`));
        else call?.resolve(message.result);
      } else {
        for (const listener of this.listeners.get(message.method) ?? []) listener(message.params);
      }
    };
  }

  static connect(url: string): Promise<DevTools> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.onopen = () => resolve(new DevTools(socket));
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  on(method: string, listener: (params: Record<string, unknown>) => void): void {
    this.listeners.set(method, [...this.listeners.get(method) ?? [], listener]);
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its value as JSON gives it. */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    const thrown = reply.exceptionDetails as
      | { exception?: { description?: string }; text: string }
      | undefined;
    if (thrown) throw new Error(`in the page: ${thrown.exception?.description ?? thrown.text}`);
    return (reply.result as { value: T }).value;
  }

  /** Polls `expression` until it is truthy, up to `timeoutMs`. */
  async until(expression: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!await this.evaluate<boolean>(expression)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  close(): void {
    this.socket.close();
  }
}

export interface Browser {
  /** A new tab's DevTools connection. */
  newPage(): Promise<DevTools>;
  close(): Promise<void>;
}

/** Starts the browser on a free DevTools port with a throwaway profile. */
export async function launchChromium(path: string): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "trompe-chromium-" });
  const process = new Deno.Command(path, {
    args: [...WEBGPU_FLAGS, "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Chromium says where DevTools listens on stderr: "DevTools listening on ws://127.0.0.1:PORT/devtools/…".
  const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let endpoint: URL | undefined;
  while (!endpoint) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chromium exited before DevTools started:\n${text}`);
    text += value;
    const match = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (match) endpoint = new URL(match[1]);
  }
  // Keep reading so the browser never blocks on a full stderr pipe.
  (async () => {
    while (!(await reader.read()).done);
  })();
  const http = `http://${endpoint.host}`;
  return {
    async newPage() {
      const target = await (await fetch(`${http}/json/new?about:blank`, { method: "PUT" })).json();
      return DevTools.connect(target.webSocketDebuggerUrl);
    },
    async close() {
      process.kill("SIGTERM");
      await process.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
