import assert from "node:assert/strict";
import { floatToHalfBits, halfBits, halfToFloatTable } from "../../core/io/float16.ts";

Deno.test("half → float table holds Float16Array's value for every pattern (NaNs as NaN)", () => {
  const table = halfToFloatTable();
  const patterns = new Uint16Array(65536).map((_, i) => i);
  const reference = new Float16Array(patterns.buffer);
  for (let i = 0; i < 65536; i++) assert(Object.is(table[i], Number(reference[i])), `pattern ${i}`);
});

/** Float16Array's rounding of each float, as bit patterns. */
function reference(values: Float32Array): Uint16Array {
  return halfBits(Float16Array.from(values));
}

Deno.test("float → half rounds as Float16Array does: every half, its neighbours and the ties between halves", () => {
  const table = halfToFloatTable();
  const bits: number[] = [];
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const around = (value: number) => {
    f32[0] = value;
    const at = u32[0];
    for (let d = -2; d <= 2; d++) bits.push((at + d) >>> 0);
  };
  for (let h = 0; h < 0x7c00; h++) {
    around(table[h]);
    around(-table[h]);
    // The midpoint to the next half up is a float32 (12 significant bits): a tie, and one ulp either side.
    const mid = (table[h] + table[h + 1]) / 2;
    around(mid);
    around(-mid);
  }
  bits.push(0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x477ff000, 0x477fefff, 0x33000000);
  const values = new Float32Array(Uint32Array.from(bits).buffer);
  assert.deepEqual(floatToHalfBits(values), reference(values));
});

Deno.test("float → half agrees with Float16Array on a million arbitrary bit patterns", () => {
  const bits = new Uint32Array(1_000_000);
  let state = 12345;
  for (let i = 0; i < bits.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bits[i] = state;
  }
  const values = new Float32Array(bits.buffer);
  assert.deepEqual(floatToHalfBits(values), reference(values));
});
