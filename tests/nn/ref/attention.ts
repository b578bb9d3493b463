/**
 * Float64 reference of DINOv2's attention module on x [B, T, C]: qkv linear → per head softmax(QKᵀ/√D)·V →
 * proj linear, and its backward to x and the four parameters.
 */
import { linear, linearBackward } from "./linear.ts";

export interface AttentionParams {
  qkvW: Float64Array;
  qkvB: Float64Array;
  projW: Float64Array;
  projB: Float64Array;
}

interface Shape {
  batch: number;
  tokens: number;
  channels: number;
  heads: number;
}

/** Per (batch, head): P [T, T] and ctx written into the [B, T, C] layout. */
function core(qkv: Float64Array, s: Shape): { ctx: Float64Array; probs: Float64Array[] } {
  const { batch: B, tokens: T, channels: C, heads: H } = s;
  const D = C / H;
  const ctx = new Float64Array(B * T * C);
  const probs: Float64Array[] = [];
  const at = (b: number, t: number, which: number, h: number, d: number) =>
    qkv[((b * T + t) * 3 + which) * C + h * D + d];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const p = new Float64Array(T * T);
      for (let i = 0; i < T; i++) {
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += at(b, i, 0, h, d) * at(b, j, 1, h, d);
          p[i * T + j] = dot / Math.sqrt(D);
          max = Math.max(max, p[i * T + j]);
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += p[i * T + j] = Math.exp(p[i * T + j] - max);
        for (let j = 0; j < T; j++) p[i * T + j] /= sum;
        for (let d = 0; d < D; d++) {
          let v = 0;
          for (let j = 0; j < T; j++) v += p[i * T + j] * at(b, j, 2, h, d);
          ctx[(b * T + i) * C + h * D + d] = v;
        }
      }
      probs.push(p);
    }
  }
  return { ctx, probs };
}

export function attention(x: Float64Array, w: AttentionParams, s: Shape): Float64Array {
  const qkv = linear(x, w.qkvW, w.qkvB, s.channels, 3 * s.channels);
  return linear(core(qkv, s).ctx, w.projW, w.projB, s.channels, s.channels);
}

export function attentionBackward(
  x: Float64Array,
  w: AttentionParams,
  dy: Float64Array,
  s: Shape,
): AttentionParams & { x: Float64Array } {
  const { batch: B, tokens: T, channels: C, heads: H } = s;
  const D = C / H;
  const qkv = linear(x, w.qkvW, w.qkvB, C, 3 * C);
  const { ctx, probs } = core(qkv, s);
  const proj = linearBackward(ctx, w.projW, dy, C, C);
  const dCtx = proj.x;
  const dQkv = new Float64Array(qkv.length);
  const idx = (b: number, t: number, which: number, h: number, d: number) =>
    ((b * T + t) * 3 + which) * C + h * D + d;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const p = probs[b * H + h];
      for (let i = 0; i < T; i++) {
        // dP[i, j] = Σ_d dctx[i, d]·V[j, d]; dS = P ⊙ (dP − Σ_j P·dP)
        const dp = new Float64Array(T);
        let dot = 0;
        for (let j = 0; j < T; j++) {
          for (let d = 0; d < D; d++) dp[j] += dCtx[(b * T + i) * C + h * D + d] * qkv[idx(b, j, 2, h, d)];
          dot += dp[j] * p[i * T + j];
        }
        for (let j = 0; j < T; j++) {
          const ds = (p[i * T + j] * (dp[j] - dot)) / Math.sqrt(D);
          for (let d = 0; d < D; d++) {
            dQkv[idx(b, j, 2, h, d)] += p[i * T + j] * dCtx[(b * T + i) * C + h * D + d];
            dQkv[idx(b, i, 0, h, d)] += ds * qkv[idx(b, j, 1, h, d)];
            dQkv[idx(b, j, 1, h, d)] += ds * qkv[idx(b, i, 0, h, d)];
          }
        }
      }
    }
  }
  const q = linearBackward(x, w.qkvW, dQkv, C, 3 * C);
  return { x: q.x, qkvW: q.weight, qkvB: q.bias, projW: proj.weight, projB: proj.bias };
}
