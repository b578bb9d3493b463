/**
 * Hash-derived randomness, the one source of it in trompe (augmentation, train/val splits, training crops).
 * Every random choice comes from hashing (seed, identity strings): the sample, the epoch, the purpose, never
 * from a shared generator consumed in call order, so the result for one sample is the same whatever the
 * worker count, the shard or the order samples are run in (DESIGN.md §Determinism).
 *
 * A key is the seed and the parts joined by NUL, which no path or id contains, so ("a", "bc") and ("ab", "c")
 * never collide.
 */

/** 128 bits of hash state from a string: cyrb128 (four interleaved 32-bit multiply-xor lanes). */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

function key(seed: number | string, parts: readonly (string | number)[]): string {
  return [String(seed), ...parts.map(String)].join("\u0000");
}

/** One uniform number in [0, 1) for (seed, identity...), for decisions that need a single draw. */
export function hashUnit(seed: number | string, ...parts: (string | number)[]): number {
  return hash128(key(seed, parts))[0] / 4294967296;
}

/** sfc32: small, fast, passes PractRand to 2^40 — plenty for placing pictures. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: readonly [number, number, number, number]) {
    [this.#a, this.#b, this.#c, this.#d] = seed;
    // The first outputs of sfc32 correlate with the seed words; discard them.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A stream for one purpose of one sample: `derive(seed, sampleId, "placement")`. */
  static derive(seed: number | string, ...parts: (string | number)[]): Rng {
    return new Rng(hash128(key(seed, parts)));
  }

  nextU32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick: empty list");
    return items[Math.floor(this.next() * items.length)];
  }

  /** A key drawn with probability proportional to its weight (weights ≥ 0, not all zero). */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const keys = (Object.keys(weights) as K[]).filter((k) => weights[k] > 0).sort();
    const total = keys.reduce((s, k) => s + weights[k], 0);
    if (keys.length === 0) throw new Error("Rng.weighted: no positive weight");
    let r = this.next() * total;
    for (const k of keys) {
      r -= weights[k];
      if (r < 0) return k;
    }
    return keys[keys.length - 1];
  }
}
