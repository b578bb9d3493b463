/**
 * core/rng.ts: every augmented set, split and training crop is a function of these draws, so "same seed,
 * same bytes" across versions holds only while they stay exactly what they are. The known answers below
 * were computed by a separate Python implementation of the published algorithms (cyrb128, bryc's
 * PRNG collection; sfc32, Chris Doty-Humphrey's PractRand, 12 warm-up outputs discarded), written from
 * their descriptions with explicit 32-bit masking, not from core/rng.ts.
 */
import assert from "node:assert/strict";
import { hash128, hashUnit, Rng } from "../core/rng.ts";

Deno.test("rng: cyrb128 and sfc32 give the published algorithms' outputs (known answers)", () => {
  assert.deepEqual(hash128(""), [41608494, 3485963809, 1435736333, 1262568316]);
  assert.deepEqual(hash128("x"), [1126686311, 960522310, 851572247, 1234150393]);
  // The key of (seed 1, "frame", "place"): the seed and parts joined by NUL.
  assert.deepEqual(hash128("1\u0000frame\u0000place"), [4037396707, 3466277990, 3400952086, 858387354]);
  const rng = Rng.derive(1, "frame", "place");
  assert.deepEqual(
    Array.from({ length: 5 }, () => rng.nextU32()),
    [1668663639, 3760951789, 1163111390, 2725527585, 3376559365],
  );
  assert.equal(hashUnit(3, "a", "bc"), 0.6157315783202648);
});

Deno.test("rng: a draw depends on (seed, parts) only, not on draws made before it, and parts are not concatenated", () => {
  const first = Rng.derive(1, "frame", "place");
  const expected = Array.from({ length: 10 }, () => first.nextU32());
  // Other streams and single draws in between must not shift this one (no shared generator).
  const other = Rng.derive(1, "frame", "crop");
  for (let i = 0; i < 100; i++) other.next(), hashUnit(i, "noise");
  const again = Rng.derive(1, "frame", "place");
  assert.deepEqual(Array.from({ length: 10 }, () => again.nextU32()), expected);
  assert.notDeepEqual(Array.from({ length: 10 }, () => other.nextU32()), expected);
  assert.notEqual(hashUnit(3, "a", "bc"), hashUnit(3, "ab", "c"));
  assert.notEqual(hashUnit(3, "a"), hashUnit(4, "a"));
  assert.equal(hashUnit(3, 7), hashUnit("3", "7"), "numbers and their decimal strings are one key");
});

Deno.test("rng: draws are uniform enough for crops, flips and splits", () => {
  const bins = new Array(10).fill(0);
  const n = 20000;
  for (let i = 0; i < n; i++) bins[Math.floor(hashUnit(0, `frame-${i}`) * 10)]++;
  for (const b of bins) assert.ok(Math.abs(b - n / 10) < 5 * Math.sqrt(n / 10), `bins ${bins}`);
  const rng = Rng.derive(9, "stream");
  let sum = 0;
  for (let i = 0; i < n; i++) sum += rng.next();
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
});

Deno.test("rng: int covers both ends, chance and weighted follow their probabilities, pick and weighted refuse empty input", () => {
  const rng = Rng.derive(5, "helpers");
  const n = 30000;
  const ints = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const v = rng.int(-2, 2);
    ints.set(v, (ints.get(v) ?? 0) + 1);
  }
  assert.deepEqual([...ints.keys()].sort((x, y) => x - y), [-2, -1, 0, 1, 2]);
  for (const count of ints.values()) {
    assert.ok(Math.abs(count - n / 5) < 5 * Math.sqrt(n / 5), `${[...ints]}`);
  }

  let hits = 0;
  for (let i = 0; i < n; i++) if (rng.chance(0.3)) hits++;
  assert.ok(Math.abs(hits / n - 0.3) < 5 * Math.sqrt(0.21 / n), `chance(0.3): ${hits / n}`);

  const counts: Record<string, number> = { mirror: 0, art: 0, none: 0 };
  for (let i = 0; i < n; i++) counts[rng.weighted({ mirror: 1, art: 3, none: 0 })]++;
  assert.equal(counts.none, 0, "a zero weight is never drawn");
  assert.ok(
    Math.abs(counts.art / n - 0.75) < 5 * Math.sqrt(0.1875 / n),
    `weighted: ${JSON.stringify(counts)}`,
  );
  // The keys' order in the object does not change the draw (they are sorted first).
  const a = Rng.derive(2, "w"), b = Rng.derive(2, "w");
  for (let i = 0; i < 50; i++) {
    assert.equal(a.weighted({ x: 1, y: 2, z: 3 }), b.weighted({ z: 3, x: 1, y: 2 }));
  }

  assert.throws(() => rng.pick([]), /empty list/);
  assert.throws(() => rng.weighted({ a: 0 }), /no positive weight/);
  assert.ok(["p", "q"].includes(rng.pick(["p", "q"])));
});
