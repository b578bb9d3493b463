import assert from "node:assert/strict";
import { hash128, hashUnit, Rng } from "../core/rng.ts";

Deno.test("rng: a draw depends on (seed, parts) only, and parts are not concatenated", () => {
  assert.equal(hashUnit(3, "a", "bc"), hashUnit(3, "a", "bc"));
  assert.notEqual(hashUnit(3, "a", "bc"), hashUnit(3, "ab", "c"));
  assert.notEqual(hashUnit(3, "a"), hashUnit(4, "a"));
  assert.equal(hashUnit(3, 7), hashUnit("3", "7"), "numbers and their decimal strings are one key");
  const a = Rng.derive(1, "frame", "place"), b = Rng.derive(1, "frame", "place");
  for (let i = 0; i < 10; i++) assert.equal(a.nextU32(), b.nextU32());
  assert.deepEqual(hash128("x"), hash128("x"));
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
