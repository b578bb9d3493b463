import assert from "node:assert/strict";
import { join } from "node:path";
import { decodePng, encodePng, readPng, writePng } from "../../core/io/png.ts";
import type { RasterU16, RasterU8 } from "../../core/io/raster.ts";
import { FORMATS_DIR, sharedTest } from "../shared.ts";
import { readNpy } from "../../core/io/npy.ts";

function ramp16(width: number, height: number): Uint16Array {
  const data = new Uint16Array(width * height);
  // covers both bytes of every value, 0 and 65535 included, so a byte-order slip cannot pass
  for (let i = 0; i < data.length; i++) data[i] = (i * 4099) % 65536;
  data[0] = 65535;
  data[1] = 0;
  data[2] = 0x0100;
  return data;
}

Deno.test("16-bit gray PNG round-trips bit-exactly, also from a view with a nonzero byteOffset", () => {
  const width = 37;
  const height = 11;
  const values = ramp16(width, height);
  const backing = new Uint16Array(values.length + 5);
  backing.set(values, 5);
  const view = backing.subarray(5); // byteOffset 10: pngjs would read the wrong pixels if handed this as is
  for (const data of [values, view]) {
    const back = decodePng(encodePng({ width, height, channels: 1, data }), "mem.png") as RasterU16;
    assert(back.data instanceof Uint16Array, "16-bit PNG must decode to a RasterU16");
    assert.deepEqual([back.width, back.height, back.channels], [width, height, 1]);
    assert.deepEqual(back.data, values);
  }
});

Deno.test("8-bit gray, RGB and RGBA PNGs keep their channels and values", () => {
  for (const channels of [1, 3, 4] as const) {
    const width = 9;
    const height = 4;
    const data = new Uint8Array(width * height * channels).map((_, i) => (i * 37) % 256);
    const back = decodePng(encodePng({ width, height, channels, data }), "mem.png") as RasterU8;
    assert.deepEqual(back.channels, channels);
    assert.deepEqual(back.data, data);
  }
});

Deno.test("writePng writes atomically and readPng reads it back", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sub", "depth.png");
  const image: RasterU16 = { width: 5, height: 3, channels: 1, data: ramp16(5, 3) };
  await writePng(path, image);
  assert.deepEqual((await readPng(path)).data, image.data);
  assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["depth.png"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a truncated PNG is a TrompeError naming the file", async () => {
  const image: RasterU8 = {
    width: 64,
    height: 64,
    channels: 3,
    data: new Uint8Array(64 * 64 * 3).map((_, i) => i),
  };
  const bytes = encodePng(image);
  const dir = await Deno.makeTempDir();
  for (const length of [20, 40, Math.floor(bytes.length / 2), bytes.length - 13]) {
    const path = join(dir, `cut-${length}.png`);
    await Deno.writeFile(path, bytes.subarray(0, length));
    await assert.rejects(() => readPng(path), { name: "TrompeError", subject: path });
  }
  assert.throws(() => decodePng(new TextEncoder().encode("GIF89a........"), "x.gif"), {
    name: "TrompeError",
    message: /not a PNG/,
  });
  await Deno.remove(dir, { recursive: true });
});

sharedTest("vKITTI2 depth PNGs decode to exactly the centimetres that were written", async () => {
  const cases = [
    ["Scene01/clone", "Camera_0", "00000"],
    ["Scene01/clone", "Camera_1", "00001"],
    ["Scene02/fog", "Camera_0", "00000"],
    ["Scene02/fog", "Camera_1", "00001"],
  ];
  for (const [scene, camera, frame] of cases) {
    const png = await readPng(
      join(FORMATS_DIR, "vkitti2", scene, "frames/depth", camera, `depth_${frame}.png`),
    );
    const truth = await readNpy(join(FORMATS_DIR, "truth/vkitti2", scene, camera, `depth_${frame}.cm.npy`));
    assert.deepEqual(truth.dtype, "<u2");
    assert.deepEqual([png.height, png.width], truth.shape);
    assert.deepEqual(png.data, truth.data);
  }
});

Deno.test("encoded PNGs are the bytes pngjs writes (adaptive filters, or none), and decode to the same values", async () => {
  const { PNG } = await import("npm:pngjs@7.0.0");
  const width = 53, height = 17;
  // Noise, ramps and smooth gradients, so that every filter wins some rows.
  const smooth = (i: number) => Math.round(128 + 100 * Math.sin((i % width) / 9) * Math.cos(i / width / 4));
  const mask = Uint8Array.from(
    { length: width * height },
    (_, i) => (i % width > 20 && i / width > 5 ? 2 : 0),
  );
  const images: (RasterU8 | RasterU16)[] = [
    { width, height, channels: 1, data: mask },
    { width, height, channels: 1, data: ramp16(width, height) },
    {
      width,
      height,
      channels: 1,
      data: Uint16Array.from({ length: width * height }, (_, i) => 300 * smooth(i)),
    },
    ...([1, 3, 4] as const).flatMap((channels) => [
      {
        width,
        height,
        channels,
        data: new Uint8Array(width * height * channels).map((_, i) => (i * 37) % 256),
      },
      {
        width,
        height,
        channels,
        data: Uint8Array.from({ length: width * height * channels }, (_, i) => smooth(i)),
      },
    ]),
  ];
  const filtersUsed = new Set<number>();
  for (const image of images) {
    const sixteen = image.data instanceof Uint16Array;
    const colorType = ({ 1: 0, 3: 2, 4: 6 } as const)[image.channels];
    for (const filter of ["adaptive", "none"] as const) {
      const pngjs = PNG.sync.write(
        { width, height, data: image.data.slice() } as unknown as InstanceType<typeof PNG>,
        {
          colorType,
          inputColorType: colorType,
          inputHasAlpha: image.channels === 4,
          bitDepth: sixteen ? 16 : 8,
          ...(filter === "none" ? { filterType: 0 } : {}),
        },
      );
      const mine = encodePng(image, { filter });
      const what = `${image.channels} ch ${sixteen ? 16 : 8} bit, ${filter}`;
      assert.deepEqual(mine, new Uint8Array(pngjs.buffer, pngjs.byteOffset, pngjs.byteLength), what);
      assert.deepEqual(decodePng(mine, "mem.png").data, image.data, what);
      if (filter === "adaptive") {
        const { inflateSync } = await import("node:zlib");
        const stride = 1 + width * image.channels * (sixteen ? 2 : 1);
        const raw = inflateSync(mine.subarray(41, mine.length - 16)); // IDAT body after signature + IHDR
        for (let y = 0; y < height; y++) filtersUsed.add(raw[y * stride]);
      }
    }
  }
  assert.deepEqual([...filtersUsed].sort(), [0, 1, 2, 3, 4], `filters used: ${[...filtersUsed]}`);
});
