/**
 * kernels/sources.ts carries the WGSL to wherever trompe is imported from: it must hold exactly the
 * kernels/*.wgsl files as committed, or a URL or JSR user runs other kernels than the tests checked.
 */
import assert from "node:assert/strict";
import { generate } from "../../kernels/sources.gen.ts";
import { kernelSource } from "../../core/gpu/kernels.ts";
import { TrompeError } from "../../core/errors.ts";

const kernelsDir = new URL("../../kernels/", import.meta.url);

function committedWgsl(): Map<string, string> {
  const sources = new Map<string, string>();
  for (const entry of Deno.readDirSync(kernelsDir)) {
    if (entry.isFile && entry.name.endsWith(".wgsl")) {
      sources.set(entry.name, Deno.readTextFileSync(new URL(entry.name, kernelsDir)));
    }
  }
  return sources;
}

Deno.test("kernels/sources.ts is what `deno task kernels` writes from the committed kernels/*.wgsl", () => {
  const committed = Deno.readTextFileSync(new URL("sources.ts", kernelsDir));
  assert.equal(committed, generate(committedWgsl()), "kernels/sources.ts is stale: run `deno task kernels`");
});

Deno.test("kernelSource gives each .wgsl byte for byte, and a clear error for a file that is not there", () => {
  const wgsl = committedWgsl();
  assert(wgsl.size >= 18);
  for (const [name, text] of wgsl) assert.equal(kernelSource(name), text, name);
  assert.throws(
    () => kernelSource("nonexistent.wgsl"),
    (e) => e instanceof TrompeError && e.code === "not-found" && /deno task kernels/.test(e.hint ?? ""),
  );
});

Deno.test("template-literal syntax in a kernel's text comes back unchanged through the generated module", async () => {
  const tricky = "// `quoted` \\ backslash ${not_a_substitution}\nfn main() {}\n";
  const module = generate(new Map([["tricky.wgsl", tricky]]));
  const url = `data:text/typescript;base64,${btoa(String.fromCharCode(...new TextEncoder().encode(module)))}`;
  const { KERNEL_SOURCES } = await import(url);
  assert.equal(KERNEL_SOURCES["tricky.wgsl"], tricky);
});
