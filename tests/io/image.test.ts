import assert from "node:assert/strict";
import { join } from "node:path";
import { readImageRgb } from "../../core/io/image.ts";
import { writePng } from "../../core/io/png.ts";
import { FORMATS_DIR, sharedTest } from "../shared.ts";

Deno.test("readImageRgb sniffs the format and always returns 3 channels", async () => {
  const dir = await Deno.makeTempDir();
  const gray = join(dir, "gray.jpg"); // a PNG under a .jpg name: the magic bytes decide
  await writePng(gray, { width: 2, height: 1, channels: 1, data: new Uint8Array([10, 200]) });
  assert.deepEqual((await readImageRgb(gray)).data, new Uint8Array([10, 10, 10, 200, 200, 200]));
  const rgba = join(dir, "rgba.png");
  await writePng(rgba, { width: 1, height: 1, channels: 4, data: new Uint8Array([1, 2, 3, 0]) });
  const rgb = await readImageRgb(rgba);
  assert.deepEqual([rgb.channels, ...rgb.data], [3, 1, 2, 3]);
  const gif = join(dir, "x.gif");
  await Deno.writeTextFile(gif, "GIF89a not supported");
  await assert.rejects(() => readImageRgb(gif), {
    code: "unsupported",
    subject: gif,
    message: /unknown image/,
  });
  await assert.rejects(() => readImageRgb(join(dir, "absent.png")), { code: "not-found" });
  await Deno.remove(dir, { recursive: true });
});

sharedTest("every art image reads as RGB", async () => {
  for (const entry of Deno.readDirSync(join(FORMATS_DIR, "art"))) {
    const image = await readImageRgb(join(FORMATS_DIR, "art", entry.name));
    assert.equal(image.channels, 3);
    assert.equal(image.data.length, image.width * image.height * 3);
    assert.equal(Math.max(image.width, image.height), 320, entry.name);
  }
});
