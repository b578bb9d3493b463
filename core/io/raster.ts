/**
 * In-memory images as the codecs produce and consume them: interleaved channels, row-major, top row first.
 */
export interface RasterU8 {
  readonly width: number;
  readonly height: number;
  /** 1 = gray, 3 = RGB, 4 = RGBA. */
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array;
}

/** 16-bit single-channel images (vKITTI2 depth in centimetres, depth in millimetres). */
export interface RasterU16 {
  readonly width: number;
  readonly height: number;
  readonly channels: 1;
  readonly data: Uint16Array;
}

export function rasterU8(width: number, height: number, channels: 1 | 3 | 4): RasterU8 {
  return { width, height, channels, data: new Uint8Array(width * height * channels) };
}
