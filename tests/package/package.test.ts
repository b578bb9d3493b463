/**
 * trompe as a JSR package: `deno publish --dry-run` passes without the network, every symbol the two entry
 * points export is documented, and the entry points name what they export (no `export *` carrying internals
 * along).
 */
import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url);
const ENTRIES = ["mod.ts", "web.ts"];

async function deno(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: repo.pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("deno publish --dry-run succeeds, without warnings, with the network unreachable", async () => {
  // A proxy on a closed port: any registry request would fail, so CI needs no network for this check.
  const offline = { HTTP_PROXY: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "" };
  const { code, out, err } = await deno(["publish", "--dry-run", "--allow-dirty"], offline);
  const text = out + err;
  assert.equal(code, 0, text);
  assert.match(text, /Success Dry run complete/);
  assert.doesNotMatch(text, /^(warning|error)\[/m, text);
  for (const needed of ["LICENSE", "mod.ts", "web.ts", "kernels/sources.ts"]) {
    assert(text.includes(new URL(needed, repo).href), `${needed} is not in the package`);
  }
  assert(!text.includes(new URL("tests/", repo).href), "tests/ would be published");
});

Deno.test("every symbol mod.ts and web.ts export has JSDoc", async () => {
  for (const entry of ENTRIES) {
    const { code, out, err } = await deno(["doc", "--json", entry]);
    assert.equal(code, 0, err);
    const doc = JSON.parse(out).nodes[new URL(entry, repo).href];
    const symbols: { name: string; declarations: { jsDoc?: { doc?: string } }[] }[] = doc.symbols;
    assert(symbols.length > 30, `${entry} exports ${symbols.length} symbols`);
    const undocumented = symbols.filter((s) => !s.declarations.some((d) => d.jsDoc?.doc)).map((s) => s.name);
    assert.deepEqual(undocumented, [], `${entry}: undocumented exports`);
    assert(
      doc.module_doc?.tags?.some((t: { kind: string }) => t.kind === "example"),
      `${entry} has no example`,
    );
  }
});

Deno.test("mod.ts and web.ts name every export: no `export *`", async () => {
  for (const entry of ENTRIES) {
    const text = await Deno.readTextFile(new URL(entry, repo));
    assert.doesNotMatch(text, /export \*/, entry);
  }
});
