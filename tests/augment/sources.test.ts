import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { chooseArt, type FrameContent, screen, type Sources } from "../../core/augment/sources.ts";
import { parseRecipe } from "../../core/augment/recipe.ts";
import { Rng } from "../../core/rng.ts";

/** Frame i's depth runs from 1 m to (1 + i) m: a depth ratio that grows with the index. */
function frameSources(count: number): Sources & { reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    poolSize: 0,
    pool: () => Promise.reject(new Error("no pool")),
    frameCount: count,
    frame: (i) => {
      reads.push(i);
      const depth = Float32Array.from({ length: 100 }, (_, k) => 1 + (i * k) / 99);
      const content: FrameContent = {
        name: `frame${i}`,
        rgb: { width: 10, height: 10, channels: 3, data: new Uint8Array(300) },
        depth,
        valid: new Uint8Array(100).fill(1),
      };
      return Promise.resolve(content);
    },
  };
}

Deno.test("screen: p95/p5 of valid depth and the near fraction", async () => {
  const art = parseRecipe({ art: { source: "dataset", minDepthRatio: 4, nearDepth: 2 } }, "test").art;
  const content = await frameSources(8).frame(5);
  const s = screen(content, art);
  // Sorted depths 1 + 5k/99: p5 at k = 4, p95 at k = 94.
  assertEquals(s.depthRatio, Math.fround(1 + (5 * 94) / 99) / Math.fround(1 + (5 * 4) / 99));
  assertEquals(s.nearFraction, 20 / 100);
  assertEquals(s.passed, true);
});

Deno.test("dataset art: a frame screened once is not read again to be screened, and the choice is the same", async () => {
  // Nothing passes (ratio ≤ 8 < 100): every draw is screened, and the best seen is taken.
  const art = parseRecipe({ art: { source: "dataset", minDepthRatio: 100, tries: 8 } }, "test").art;
  const shared = frameSources(6);
  for (let s = 0; s < 20; s++) {
    const fresh = frameSources(6);
    const expected = await chooseArt(fresh, art, 0, Rng.derive(s, "art"));
    assertEquals(
      fresh.reads.length,
      new Set(fresh.reads).size + 1,
      "each frame drawn is read once, the chosen once more",
    );
    const chosen = await chooseArt(shared, art, 0, Rng.derive(s, "art"));
    assertEquals(chosen.source, expected.source);
    assert.equal(chosen.content.name, expected.content.name);
  }
  // The five other frames each read once to be screened, then only each call's chosen frame (not 20 × 9).
  assert(shared.reads.length <= 5 + 20, `${shared.reads.length} reads`);
});
