/**
 * Freeze policies (`--freeze none|encoder|decoder|blocks:A-B`). A frozen parameter is a constant of the
 * step: the trainer gives it no gradient buffer and the optimizer no state, so freezing shows up as missing
 * `grads/` and `adam/` bytes in the pool breakdown, and as backward work not done (no gradient flows into a
 * part of the model that holds only frozen weights and has no trainable part before it).
 */
import { TrompeError } from "../errors.ts";

export type FreezePolicy =
  | { kind: "none" }
  | { kind: "encoder" }
  | { kind: "decoder" }
  /** DINOv2 blocks first..last (inclusive) frozen; the rest of the model trains. */
  | { kind: "blocks"; first: number; last: number };

export const FREEZE_CHOICES = "none | encoder | decoder | blocks:A-B";

export function parseFreeze(value: string | undefined, depth?: number): FreezePolicy {
  const spec = value ?? "none";
  if (spec === "none" || spec === "encoder" || spec === "decoder") return { kind: spec };
  const match = /^blocks:(\d+)-(\d+)$/.exec(spec);
  if (!match) {
    throw new TrompeError("bad-argument", `"${spec}" is not a freeze policy`, {
      subject: "--freeze",
      hint: FREEZE_CHOICES,
    });
  }
  const [first, last] = [Number(match[1]), Number(match[2])];
  if (first > last || (depth !== undefined && last >= depth)) {
    throw new TrompeError("bad-argument", `blocks ${first}-${last} is not a range of the model's blocks`, {
      subject: "--freeze",
      hint: depth === undefined ? "A ≤ B" : `0 ≤ A ≤ B ≤ ${depth - 1}`,
    });
  }
  return { kind: "blocks", first, last };
}

const BLOCK = /^pretrained\.blocks\.(\d+)\./;

/** Whether parameter `key` (an official state_dict key) receives gradients under `policy`. */
export function isTrainable(key: string, policy: FreezePolicy): boolean {
  switch (policy.kind) {
    case "none":
      return true;
    case "encoder":
      return !key.startsWith("pretrained.");
    case "decoder":
      return key.startsWith("pretrained.");
    case "blocks": {
      const block = BLOCK.exec(key);
      if (!block) return true;
      const i = Number(block[1]);
      return i < policy.first || i > policy.last;
    }
  }
}

export function describeFreeze(policy: FreezePolicy): string {
  return policy.kind === "blocks" ? `blocks:${policy.first}-${policy.last}` : policy.kind;
}
