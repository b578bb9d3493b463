/**
 * Finiteness of weights: a diverged run's NaN or infinite weights still load, run and give plausible-looking
 * maps (a NaN block ahead of the metric head's sigmoid gives a constant depth), so they are refused wherever
 * weights are loaded or saved instead of being used.
 */
import { TrompeError } from "../../errors.ts";

/** Names of the tensors holding at least one NaN or infinity, in the order given. */
export function nonFiniteNames(tensors: Iterable<readonly [string, { data: ArrayLike<number> }]>): string[] {
  const names: string[] = [];
  for (const [name, { data }] of tensors) {
    for (let i = 0; i < data.length; i++) {
      // x - x is 0 for every finite x and NaN for NaN and ±infinity: one test for both.
      if (data[i] - data[i] !== 0) {
        names.push(name);
        break;
      }
    }
  }
  return names;
}

/** "3 of 127 tensors hold NaN or infinity (first: a, b, c)". */
export function describeNonFinite(names: readonly string[], total: number): string {
  const first = names.slice(0, 3).join(", ") + (names.length > 3 ? ", …" : "");
  return `${names.length} of ${total} tensors hold NaN or infinity (${first})`;
}

/** Throws, naming `path` and saying what to do (`hint`), when any weight is not finite. */
export function requireFiniteWeights(
  tensors: ReadonlyMap<string, { data: ArrayLike<number> }>,
  path: string,
  hint: string,
): void {
  const bad = nonFiniteNames(tensors);
  if (bad.length === 0) return;
  throw new TrompeError("non-finite", describeNonFinite(bad, tensors.size), { subject: path, hint });
}
