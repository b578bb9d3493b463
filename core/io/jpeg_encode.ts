/**
 * trompe's own baseline JPEG encoder (JFIF, YCbCr 4:2:0, libjpeg's quality scale, standard Huffman tables):
 * the augmented sets' images are written with it, without a wasm round trip.
 */
import { TrompeError } from "../errors.ts";
import type { RasterU8 } from "./raster.ts";

/** Natural (row-major) index of the k-th coefficient in zigzag order. */
const ZIGZAG = Uint8Array.from([
  0,
  1,
  8,
  16,
  9,
  2,
  3,
  10,
  17,
  24,
  32,
  25,
  18,
  11,
  4,
  5,
  12,
  19,
  26,
  33,
  40,
  48,
  41,
  34,
  27,
  20,
  13,
  6,
  7,
  14,
  21,
  28,
  35,
  42,
  49,
  56,
  57,
  50,
  43,
  36,
  29,
  22,
  15,
  23,
  30,
  37,
  44,
  51,
  58,
  59,
  52,
  45,
  38,
  31,
  39,
  46,
  53,
  60,
  61,
  54,
  47,
  55,
  62,
  63,
]);

const LUMA_QUANT = [
  16,
  11,
  10,
  16,
  24,
  40,
  51,
  61,
  12,
  12,
  14,
  19,
  26,
  58,
  60,
  55,
  14,
  13,
  16,
  24,
  40,
  57,
  69,
  56,
  14,
  17,
  22,
  29,
  51,
  87,
  80,
  62,
  18,
  22,
  37,
  56,
  68,
  109,
  103,
  77,
  24,
  35,
  55,
  64,
  81,
  104,
  113,
  92,
  49,
  64,
  78,
  87,
  103,
  121,
  120,
  101,
  72,
  92,
  95,
  98,
  112,
  100,
  103,
  99,
];
const CHROMA_QUANT = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  ...new Array(36).fill(99),
];

interface HuffmanSpec {
  readonly counts: readonly number[];
  readonly symbols: readonly number[];
}

const DC_LUMA: HuffmanSpec = { counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], symbols: range(12) };
const DC_CHROMA: HuffmanSpec = {
  counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  symbols: range(12),
};
const AC_LUMA: HuffmanSpec = {
  counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  symbols: [
    0x01,
    0x02,
    0x03,
    0x00,
    0x04,
    0x11,
    0x05,
    0x12,
    0x21,
    0x31,
    0x41,
    0x06,
    0x13,
    0x51,
    0x61,
    0x07,
    0x22,
    0x71,
    0x14,
    0x32,
    0x81,
    0x91,
    0xa1,
    0x08,
    0x23,
    0x42,
    0xb1,
    0xc1,
    0x15,
    0x52,
    0xd1,
    0xf0,
    0x24,
    0x33,
    0x62,
    0x72,
    0x82,
    0x09,
    0x0a,
    0x16,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x25,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x34,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe1,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf1,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
  ],
};
const AC_CHROMA: HuffmanSpec = {
  counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  symbols: [
    0x00,
    0x01,
    0x02,
    0x03,
    0x11,
    0x04,
    0x05,
    0x21,
    0x31,
    0x06,
    0x12,
    0x41,
    0x51,
    0x07,
    0x61,
    0x71,
    0x13,
    0x22,
    0x32,
    0x81,
    0x08,
    0x14,
    0x42,
    0x91,
    0xa1,
    0xb1,
    0xc1,
    0x09,
    0x23,
    0x33,
    0x52,
    0xf0,
    0x15,
    0x62,
    0x72,
    0xd1,
    0x0a,
    0x16,
    0x24,
    0x34,
    0xe1,
    0x25,
    0xf1,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x82,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
  ],
};

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Canonical codes (Annex C): code and length per symbol. */
function huffmanCodes(spec: HuffmanSpec): { code: Uint16Array; size: Uint8Array } {
  const code = new Uint16Array(256), size = new Uint8Array(256);
  let next = 0, k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < spec.counts[length - 1]; i++) {
      code[spec.symbols[k]] = next++;
      size[spec.symbols[k++]] = length;
    }
    next <<= 1;
  }
  return { code, size };
}

const CODES = [DC_LUMA, AC_LUMA, DC_CHROMA, AC_CHROMA].map(huffmanCodes);

/** libjpeg's `jpeg_quality_scaling` and `jpeg_add_quant_table` with baseline limits. */
function scaledTable(base: readonly number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Uint8Array.from(base, (b) => Math.min(255, Math.max(1, Math.floor((b * scale + 50) / 100))));
}

const AAN_SCALE = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

/** Reciprocal divisors for the float AAN DCT's output (its scale factors folded in), natural order. */
function divisors(table: Uint8Array): Float64Array {
  return Float64Array.from(table, (q, k) => 1 / (q * AAN_SCALE[k >> 3] * AAN_SCALE[k & 7] * 8));
}

/** In-place forward DCT of one 8×8 block (libjpeg's jfdctflt: Arai, Agui, Nakajima), rows then columns. */
function fdct(d: Float64Array): void {
  for (let p = 0; p < 64; p += 8) pass(d, p, 1);
  for (let p = 0; p < 8; p++) pass(d, p, 8);
}

function pass(d: Float64Array, o: number, s: number): void {
  const t0 = d[o] + d[o + 7 * s], t7 = d[o] - d[o + 7 * s];
  const t1 = d[o + s] + d[o + 6 * s], t6 = d[o + s] - d[o + 6 * s];
  const t2 = d[o + 2 * s] + d[o + 5 * s], t5 = d[o + 2 * s] - d[o + 5 * s];
  const t3 = d[o + 3 * s] + d[o + 4 * s], t4 = d[o + 3 * s] - d[o + 4 * s];
  const t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
  d[o] = t10 + t11;
  d[o + 4 * s] = t10 - t11;
  const z1 = (t12 + t13) * 0.707106781;
  d[o + 2 * s] = t13 + z1;
  d[o + 6 * s] = t13 - z1;
  const a = t4 + t5, b = t5 + t6, c = t6 + t7;
  const z5 = (a - c) * 0.382683433, z2 = 0.5411961 * a + z5, z4 = 1.306562965 * c + z5, z3 = b * 0.707106781;
  const z11 = t7 + z3, z13 = t7 - z3;
  d[o + 5 * s] = z13 + z2;
  d[o + 3 * s] = z13 - z2;
  d[o + s] = z11 + z4;
  d[o + 7 * s] = z11 - z4;
}

/** Entropy-coded bytes with 0xFF stuffing, growing as needed. */
class BitWriter {
  bytes: Uint8Array;
  length = 0;
  private acc = 0;
  private bits = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  raw(values: ArrayLike<number>): void {
    this.reserve(values.length);
    for (let i = 0; i < values.length; i++) this.bytes[this.length++] = values[i];
  }

  /** Appends the low `size` bits of `value` (size ≤ 16), most significant first. */
  put(value: number, size: number): void {
    this.acc = (this.acc << size) | (value & ((1 << size) - 1));
    this.bits += size;
    if (this.length + 8 > this.bytes.length) this.reserve(8);
    while (this.bits >= 8) {
      const byte = (this.acc >>> (this.bits - 8)) & 0xff;
      this.bytes[this.length++] = byte;
      if (byte === 0xff) this.bytes[this.length++] = 0;
      this.bits -= 8;
    }
    this.acc &= (1 << this.bits) - 1;
  }

  /** Pads the last byte with 1-bits, as the standard asks. */
  flush(): void {
    if (this.bits > 0) this.put(0x7f, 8 - this.bits);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/** Quantises and Huffman-codes one transformed block; returns its DC for the next block's prediction. */
function codeBlock(
  w: BitWriter,
  d: Float64Array,
  div: Float64Array,
  previousDc: number,
  dc: { code: Uint16Array; size: Uint8Array },
  ac: { code: Uint16Array; size: Uint8Array },
): number {
  // libjpeg's float quantiser rounds half up: (int)(x + 16384.5) - 16384
  const value = (k: number) => Math.floor(d[k] * div[k] + 16384.5) - 16384;
  const first = value(0);
  let diff = first - previousDc;
  let magnitude = diff < 0 ? -diff : diff;
  let nbits = magnitude === 0 ? 0 : 32 - Math.clz32(magnitude);
  w.put(dc.code[nbits], dc.size[nbits]);
  if (nbits) w.put(diff < 0 ? diff - 1 : diff, nbits);
  let run = 0;
  for (let i = 1; i < 64; i++) {
    const v = value(ZIGZAG[i]);
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      w.put(ac.code[0xf0], ac.size[0xf0]);
      run -= 16;
    }
    magnitude = v < 0 ? -v : v;
    nbits = 32 - Math.clz32(magnitude);
    diff = (run << 4) | nbits;
    w.put(ac.code[diff], ac.size[diff]);
    w.put(v < 0 ? v - 1 : v, nbits);
    run = 0;
  }
  if (run > 0) w.put(ac.code[0], ac.size[0]);
  return first;
}

function marker(w: BitWriter, code: number, body: number[]): void {
  w.raw([0xff, code, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
}

function huffmanSegment(spec: HuffmanSpec, tableClassAndId: number): number[] {
  return [tableClassAndId, ...spec.counts, ...spec.symbols];
}

/**
 * Baseline JFIF, YCbCr 4:2:0 (libjpeg's default sampling), quality on libjpeg's scale (95 by default: what
 * the augmented sets use, as OpenCV's `IMWRITE_JPEG_QUALITY` 95 writes the originals). Gray and RGBA inputs
 * are taken as RGB (gray replicated, alpha dropped).
 */
export function encodeJpeg(image: RasterU8, quality = 95): Promise<Uint8Array> {
  const { width, height, channels, data } = image;
  if (
    data.length !== width * height * channels || width < 1 || height < 1 || width > 65535 || height > 65535
  ) {
    throw new TrompeError(
      "shape-mismatch",
      `JPEG: ${data.length} values for ${width}×${height}×${channels}`,
    );
  }
  const lumaTable = scaledTable(LUMA_QUANT, quality), chromaTable = scaledTable(CHROMA_QUANT, quality);
  const lumaDiv = divisors(lumaTable), chromaDiv = divisors(chromaTable);
  const w = new BitWriter(1024 + width * height);
  w.raw([0xff, 0xd8]);
  marker(w, 0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  marker(w, 0xdb, [
    0,
    ...Array.from(ZIGZAG, (k) => lumaTable[k]),
    1,
    ...Array.from(ZIGZAG, (k) => chromaTable[k]),
  ]);
  marker(w, 0xc0, [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
  marker(w, 0xc4, [
    ...huffmanSegment(DC_LUMA, 0x00),
    ...huffmanSegment(AC_LUMA, 0x10),
    ...huffmanSegment(DC_CHROMA, 0x01),
    ...huffmanSegment(AC_CHROMA, 0x11),
  ]);
  marker(w, 0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  // One strip of 16 rows at a time: Y at full resolution, Cb/Cr averaged over 2×2, all level-shifted by 128.
  const mcusX = Math.ceil(width / 16), stripW = mcusX * 16;
  const y = new Float64Array(stripW * 16),
    cb = new Float64Array(stripW * 4),
    cr = new Float64Array(stripW * 4);
  const block = new Float64Array(64);
  const [dcL, acL, dcC, acC] = CODES;
  const step = channels, g = channels === 1 ? 0 : 1, b = channels === 1 ? 0 : 2;
  let dcY = 0, dcCb = 0, dcCr = 0;
  for (let top = 0; top < height; top += 16) {
    cb.fill(0);
    cr.fill(0);
    for (let r = 0; r < 16; r++) {
      const row = Math.min(top + r, height - 1) * width;
      for (let c = 0; c < stripW; c++) {
        const p = (row + Math.min(c, width - 1)) * step;
        const R = data[p], G = data[p + g], B = data[p + b];
        y[r * stripW + c] = 0.299 * R + 0.587 * G + 0.114 * B - 128;
        const k = (r >> 1) * (stripW >> 1) + (c >> 1);
        cb[k] += -0.168735892 * R - 0.331264108 * G + 0.5 * B;
        cr[k] += 0.5 * R - 0.418687589 * G - 0.081312411 * B;
      }
    }
    for (let k = 0; k < cb.length; k++) {
      cb[k] *= 0.25;
      cr[k] *= 0.25;
    }
    for (let m = 0; m < mcusX; m++) {
      for (let q = 0; q < 4; q++) {
        const x0 = m * 16 + (q & 1) * 8, y0 = (q >> 1) * 8;
        for (let r = 0; r < 8; r++) {
          for (let c = 0; c < 8; c++) block[r * 8 + c] = y[(y0 + r) * stripW + x0 + c];
        }
        fdct(block);
        dcY = codeBlock(w, block, lumaDiv, dcY, dcL, acL);
      }
      const half = stripW >> 1;
      for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) block[r * 8 + c] = cb[r * half + m * 8 + c];
      fdct(block);
      dcCb = codeBlock(w, block, chromaDiv, dcCb, dcC, acC);
      for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) block[r * 8 + c] = cr[r * half + m * 8 + c];
      fdct(block);
      dcCr = codeBlock(w, block, chromaDiv, dcCr, dcC, acC);
    }
  }
  w.flush();
  w.raw([0xff, 0xd9]);
  return Promise.resolve(w.bytes.slice(0, w.length));
}
