/**
 * Anti-aliased compositing of a flat object into an image. Each pixel's coverage by the picture and by its
 * border is measured, not thresholded: pixels whose four corners and centre all fall in one part are taken
 * whole, the rest are supersampled 4×4, so edges blend like a photograph's and no jagged seam betrays the
 * paste. Colours: picture = bilinear sample of the source at the pixel centre, border = flat colour × bevel.
 */
import type { RasterU8 } from "../io/raster.ts";
import { bevelShade, type Border } from "./borders.ts";
import { apply, invert, type Mat3 } from "./homography.ts";
import type { Sdf, Shape } from "./shapes.ts";

export interface Paste {
  /** Plane → image homography (pixel-index coordinates: pixel (c, r) is centred on (c, r)). */
  readonly planeToImage: Mat3;
  readonly shape: Shape;
  readonly sdf: Sdf;
  readonly border: Border;
  /** RGB source stretched over the shape's bounding rectangle; null keeps the image (a negative's interior). */
  readonly texture: RasterU8 | null;
}

/** Per-pixel coverage over the bounding box of a paste: x in [x0, x1), y in [y0, y1). */
export interface Footprint {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  /**
   * Coverage by picture + border in sixteenths of the pixel (0–16, the 4×4 supersampling's count): bytes,
   * because the box can span most of the frame and fresh memory is what a paste costs most.
   */
  readonly cover: Uint8Array;
}

const OUTSIDE = 0, BORDER = 1, INSIDE = 2;
const SUB = 4;

/** Pastes into `image` (RGB, modified in place) and returns the coverage. */
export function composite(image: RasterU8, paste: Paste): Footprint {
  if (image.channels !== 3) throw new Error("composite: image must be RGB");
  const { shape, sdf, border } = paste;
  const h = paste.planeToImage;
  const hi = invert(h);
  const bw = border.width;
  const [x0, y0, x1, y1] = boundingBox(h, shape.width / 2 + bw, shape.height / 2 + bw, image);
  const bwid = x1 - x0, bhei = y1 - y0;
  const cover = new Uint8Array(Math.max(bwid * bhei, 0));
  if (bwid <= 0 || bhei <= 0) return { x0, y0, x1, y1, cover };
  // Image points beyond the plane's vanishing line map to the plane's far side: reject by the sign of w.
  const wSign = Math.sign(hi[6] * h[2] / h[8] + hi[7] * h[5] / h[8] + hi[8]);

  const tex = paste.texture;
  const ctx: PaintContext = {
    hi,
    wSign,
    sdf,
    bw,
    border,
    shape,
    data: image.data,
    imageWidth: image.width,
    texData: tex?.data ?? null,
    texWidth: tex?.width ?? 0,
    texHeight: tex?.height ?? 0,
    texChannels: tex?.channels ?? 0,
    x0,
    bwid,
    cover,
  };
  // Parts at pixel corners, one row of corners ahead: corner (i, j) sits at (x0 + i − ½, y0 + j − ½).
  let above = new Uint8Array(bwid + 1), below = new Uint8Array(bwid + 1);
  cornerRow(ctx, y0 - 0.5, above);
  for (let j = 0; j < bhei; j++) {
    cornerRow(ctx, y0 + j + 0.5, below);
    paintRow(ctx, j, y0 + j, above, below);
    [above, below] = [below, above];
  }
  return { x0, y0, x1, y1, cover };
}

/**
 * What the per-row functions share. The rows are painted by functions called once per row, not by loops in
 * `composite` itself: called once per paste, `composite` only ever ran its loops as on-stack-replaced code,
 * which V8 discarded at exits from the inner loop (~40 deoptimisations per paste); functions called hundreds of
 * times are optimised whole.
 */
interface PaintContext {
  readonly hi: Mat3;
  readonly wSign: number;
  readonly sdf: Sdf;
  readonly bw: number;
  readonly border: Border;
  readonly shape: Shape;
  readonly data: Uint8Array;
  readonly imageWidth: number;
  readonly texData: Uint8Array | null;
  readonly texWidth: number;
  readonly texHeight: number;
  readonly texChannels: number;
  readonly x0: number;
  readonly bwid: number;
  readonly cover: Uint8Array;
}

/** Which part (outside, border, inside) the image point (u, v) falls in. */
function part(ctx: PaintContext, u: number, v: number): number {
  const hi = ctx.hi;
  const w = hi[6] * u + hi[7] * v + hi[8];
  if (w * ctx.wSign <= 0) return OUTSIDE;
  const d = ctx.sdf((hi[0] * u + hi[1] * v + hi[2]) / w, (hi[3] * u + hi[4] * v + hi[5]) / w);
  return d < 0 ? INSIDE : d < ctx.bw ? BORDER : OUTSIDE;
}

/** Parts of the row of pixel corners at image height `v`. */
function cornerRow(ctx: PaintContext, v: number, out: Uint8Array): void {
  for (let i = 0; i <= ctx.bwid; i++) out[i] = part(ctx, ctx.x0 + i - 0.5, v);
}

/** Coverage and colour of the pixels of box row `j` (image row `y`), between corner rows `above` and `below`. */
function paintRow(ctx: PaintContext, j: number, y: number, above: Uint8Array, below: Uint8Array): void {
  const { hi, wSign, sdf, bw, border, shape, data, texData, texWidth, texHeight, texChannels, bwid, cover } =
    ctx;
  for (let i = 0; i < bwid; i++) {
    const x = ctx.x0 + i;
    // The pixel centre's plane point: classifies the centre (as `part` would) and places the texture sample.
    const w = hi[6] * x + hi[7] * y + hi[8];
    const px = (hi[0] * x + hi[1] * y + hi[2]) / w, py = (hi[3] * x + hi[4] * y + hi[5]) / w;
    const facing = w * wSign > 0;
    const dCentre = facing ? sdf(px, py) : NaN;
    const c = !facing ? OUTSIDE : dCentre < 0 ? INSIDE : dCentre < bw ? BORDER : OUTSIDE;
    let nIn = 0, nBorder = 0;
    if (c === above[i] && c === above[i + 1] && c === below[i] && c === below[i + 1]) {
      if (c === OUTSIDE) continue;
      if (c === INSIDE) nIn = SUB * SUB;
      else nBorder = SUB * SUB;
    } else {
      for (let sy = 0; sy < SUB; sy++) {
        for (let sx = 0; sx < SUB; sx++) {
          const s = part(ctx, x + (sx + 0.5) / SUB - 0.5, y + (sy + 0.5) / SUB - 0.5);
          if (s === INSIDE) nIn++;
          else if (s === BORDER) nBorder++;
        }
      }
      if (nIn + nBorder === 0) continue;
    }
    const aIn = nIn / (SUB * SUB), aBorder = nBorder / (SUB * SUB);
    cover[j * bwid + i] = nIn + nBorder;
    const p = (y * ctx.imageWidth + x) * 3;
    // Bilinear taps at the plane point: texel centres sit at (k + ½) / size of the shape's bounding
    // rectangle, samples clamp to the edge texels.
    let tap = 0, right = 0, down = 0, fs = 0, ft = 0;
    if (aIn > 0 && texData) {
      const s = Math.min(Math.max(((px + shape.width / 2) / shape.width) * texWidth - 0.5, 0), texWidth - 1);
      const t = Math.min(
        Math.max(((py + shape.height / 2) / shape.height) * texHeight - 0.5, 0),
        texHeight - 1,
      );
      const s0 = Math.floor(s), t0 = Math.floor(t);
      tap = (t0 * texWidth + s0) * texChannels;
      right = (Math.min(s0 + 1, texWidth - 1) - s0) * texChannels;
      down = (Math.min(t0 + 1, texHeight - 1) - t0) * texWidth * texChannels;
      fs = s - s0;
      ft = t - t0;
    }
    const shade = aBorder > 0
      ? bevelShade(border, sdf, px, py, Math.min(Math.max(facing ? dCentre : sdf(px, py), 0), bw * 0.999))
      : 0;
    for (let ch = 0; ch < 3; ch++) {
      let value = data[p + ch] * (1 - aIn - aBorder);
      if (aIn > 0) {
        if (texData) {
          const at = tap + ch;
          const top = texData[at] * (1 - fs) + texData[at + right] * fs;
          const bottom = texData[at + down] * (1 - fs) + texData[at + down + right] * fs;
          value += aIn * (top * (1 - ft) + bottom * ft);
        } else value += aIn * data[p + ch];
      }
      if (aBorder > 0) value += aBorder * border.colour[ch] * shade;
      data[p + ch] = Math.min(255, Math.max(0, Math.round(value)));
    }
  }
}

/** Image-space box (clamped, exclusive end) holding the projected rectangle [−a, a] × [−b, b]. */
function boundingBox(h: Mat3, a: number, b: number, image: RasterU8): [number, number, number, number] {
  const corners = [[-a, -b], [a, -b], [a, b], [-a, b]].map(([x, y]) => apply(h, x, y));
  const xs = corners.map((c) => c[0]), ys = corners.map((c) => c[1]);
  return [
    Math.max(0, Math.floor(Math.min(...xs)) - 1),
    Math.max(0, Math.floor(Math.min(...ys)) - 1),
    Math.min(image.width, Math.ceil(Math.max(...xs)) + 2),
    Math.min(image.height, Math.ceil(Math.max(...ys)) + 2),
  ];
}
