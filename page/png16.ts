/// <reference lib="dom" />
/**
 * 16-bit gray PNG for the page's depth export, compressed by the browser's own CompressionStream ("deflate"
 * is the zlib stream PNG's IDAT holds): trompe's PNG encoder under Deno uses node:zlib, which a page lacks.
 * Rows are stored unfiltered, samples big-endian as PNG wants.
 */

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A chunk: length, type, data, CRC of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function zlib(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The PNG file's bytes for width×height 16-bit gray values, row-major. */
export async function encodeGray16Png(
  width: number,
  height: number,
  values: Uint16Array,
): Promise<Uint8Array> {
  const rows = new Uint8Array(height * (1 + 2 * width));
  const view = new DataView(rows.buffer);
  for (let y = 0; y < height; y++) {
    const start = y * (1 + 2 * width); // a 0 byte first: filter type None
    for (let x = 0; x < width; x++) view.setUint16(start + 1 + 2 * x, values[y * width + x]);
  }
  const header = new Uint8Array(13);
  const fields = new DataView(header.buffer);
  fields.setUint32(0, width);
  fields.setUint32(4, height);
  header.set([16, 0, 0, 0, 0], 8); // bit depth 16, colour type 0 (gray), deflate, filter method 0, no interlace
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", await zlib(rows)),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
