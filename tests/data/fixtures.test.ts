/**
 * The procedural scene generator: ray-caster geometry against closed forms, the written trees read back
 * through trompe's own dataset readers giving exactly the depth the generator meant, determinism, and the
 * committed fixtures/ matching what the generator produces now.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join, relative, resolve } from "node:path";
import { DATASET_NAMES } from "../../core/data/datasets.ts";
import { hypersimCamFromUv, lookRotation, vkitti2Intrinsics } from "../../core/data/fixtures/camera.ts";
import { hypersimFrame, toCentimetres, vkitti2Frame } from "../../core/data/fixtures/frames.ts";
import { indoorScene } from "../../core/data/fixtures/indoor.ts";
import { outdoorScene } from "../../core/data/fixtures/outdoor.ts";
import {
  box,
  cylinder,
  ground,
  Hit,
  intersect,
  type Prim,
  room,
  sphere,
} from "../../core/data/fixtures/primitives.ts";
import { Scene } from "../../core/data/fixtures/raycast.ts";
import { render } from "../../core/data/fixtures/render.ts";
import { formatG } from "../../core/data/fixtures/frame_write.ts";
import { writeHypersimFixtures, writeVkitti2Fixtures } from "../../core/data/fixtures/write.ts";
import { listHypersimFrames, readHypersimSample } from "../../core/data/hypersim.ts";
import { listVkitti2Frames, readVkitti2Sample } from "../../core/data/vkitti2.ts";
import { readHdf5Dataset } from "../../core/io/hdf5.ts";
import { FORMATS_DIR, randomArray, sharedTest } from "../shared.ts";

function assertAlmostEquals(actual: number, expected: number, tolerance: number, what = "") {
  assert(Math.abs(actual - expected) <= tolerance, `${what} ${actual} ≠ ${expected} (±${tolerance})`);
}

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures");
const PLAIN = { kind: "plain", a: [0.5, 0.5, 0.5], noise: 0, size: 1, salt: 0 } as const;
const LIGHT = {
  ambient: [1, 1, 1],
  ambientTilt: 0,
  sky: { zenith: [0, 0, 0], horizon: [0, 0, 0] },
  exposure: 1,
} as const;

function camera(width: number, height: number, f: number, position: [number, number, number], pitch = 0) {
  return {
    width,
    height,
    fx: f,
    fy: f,
    cx: (width - 1) / 2,
    cy: (height - 1) / 2,
    position,
    rotation: lookRotation(0, pitch, 0),
  };
}

Deno.test("ray caster: floor distance is h·|ray| / (ray · down) for a pitched camera", () => {
  const h = 1.6, pitch = -0.3, f = 50, W = 40, H = 30;
  const out = render(new Scene([ground(0, 1, 0, 0)]), [PLAIN], LIGHT, camera(W, H, f, [0, h, 0], pitch));
  let checked = 0;
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      // Camera axes for yaw 0: right (−1, 0, 0), forward (0, sin p, cos p), down (0, −cos p, sin p).
      const xc = (c - (W - 1) / 2) / f, yc = (r - (H - 1) / 2) / f;
      const norm = Math.hypot(xc, yc, 1);
      const downward = (yc * Math.cos(pitch) - Math.sin(pitch)) / norm; // unit ray · (0, −1, 0)
      const d = out.distance[r * W + c];
      if (downward <= 0) {
        assert(Number.isNaN(d), `pixel ${r},${c} looks above the horizon`);
        continue;
      }
      assertAlmostEquals(d, h / downward, 1e-9 * (h / downward));
      assertAlmostEquals(out.planar[r * W + c], d / norm, 1e-9 * d);
      checked++;
    }
  }
  assert(checked > W * H / 2);
});

Deno.test("ray caster: a fronto-parallel wall has constant planar depth; sphere, cylinder, turned box", () => {
  const W = 33, H = 25, f = 40;
  const wall = render(
    new Scene([box(0, 0, 7, 50, 50, 0.5, 0, 0)]),
    [PLAIN],
    LIGHT,
    camera(W, H, f, [0, 0, 0]),
  );
  for (let i = 0; i < W * H; i++) assertAlmostEquals(wall.planar[i], 6.5, 1e-12);
  assertAlmostEquals(wall.distance[0], 6.5 * Math.hypot(16 / f, 12 / f, 1), 1e-9);

  const hit = new Hit();
  const along = (p: Prim) => {
    hit.t = Infinity;
    return intersect(p, 0, 0.1, 0, 0, 0, 1, 0, hit) ? hit.t : NaN;
  };
  assertAlmostEquals(along(sphere(0, 0.1, 5, 1.5, 0)), 3.5, 1e-12);
  assertAlmostEquals(along(cylinder(0, -1, 5, 0.4, 2, 0)), 4.6, 1e-12);
  // A cube turned 45° shows its vertical edge to the ray: hit at D − a√2.
  assertAlmostEquals(along(box(0, 0, 5, 1, 1, 1, Math.PI / 4, 0)), 5 - Math.SQRT2, 1e-12);
  assertAlmostEquals(Math.abs(hit.nx), Math.SQRT1_2, 1e-9);
  // Seen from above, a cylinder's cap: straight down onto y = 1 from y = 3.
  hit.t = Infinity;
  assert(intersect(cylinder(0, 0, 0, 0.5, 1, 0, 1), 0.1, 3, 0.1, 0, -1, 0, 0, hit));
  assertEquals([hit.t, hit.ny, hit.mat], [2, 1, 1]);
});

Deno.test("ray caster: rays through a room's window hit nothing, other rays hit its walls", () => {
  const r = room(-2, 2, -3, 3, 3, { walls: 0, floor: 1, ceiling: 2 }, [{
    wall: 5,
    u0: 1,
    u1: 3,
    v0: 1,
    v1: 2,
  }]);
  const hit = new Hit();
  const cast = (dx: number, dy: number, dz: number) => {
    const n = Math.hypot(dx, dy, dz);
    hit.t = Infinity;
    return intersect(r, 0, 1.5, 0, dx / n, dy / n, dz / n, 0, hit) ? hit.t : NaN;
  };
  assert(Number.isNaN(cast(0, 0, 1)), "centre of the window (u = 2, v = 1.5)");
  assertAlmostEquals(cast(0, 0, -1), 3, 1e-12);
  assertEquals(hit.nz, 1);
  assert(Number.isNaN(cast(0, 0.4, 3)), "reaches the far wall at v = 1.9, inside the window");
  assertAlmostEquals(cast(0, 0.7, 3), Math.hypot(0.7, 3), 1e-12, "above the window");
  assertAlmostEquals(cast(0, -1.5, 1), Math.hypot(1.5, 1), 1e-12, "floor");
  assertEquals([hit.ny, hit.mat], [1, 1]);
});

Deno.test("ray caster: the BVH finds the same nearest hit as testing every shape", () => {
  const noise = randomArray(4000, 7);
  let k = 0;
  const next = () => noise[k++ % noise.length];
  const prims: Prim[] = [];
  for (let i = 0; i < 120; i++) {
    const [x, y, z] = [next() * 20, next() * 5, next() * 20 + 25];
    const kind = i % 3;
    if (kind === 0) {
      prims.push(box(x, y, z, 0.3 + Math.abs(next()), 0.3 + Math.abs(next()), 0.5, next() * 3, i));
    } else if (kind === 1) prims.push(sphere(x, y, z, 0.2 + Math.abs(next()), i));
    else prims.push(cylinder(x, y, z, 0.1 + Math.abs(next()) / 2, 1 + Math.abs(next()) * 3, i));
  }
  const scene = new Scene(prims);
  const fast = new Hit(), slow = new Hit();
  let hits = 0;
  for (let n = 0; n < 3000; n++) {
    const [dx, dy, dz] = [next() * 0.6, next() * 0.3, 1];
    const len = Math.hypot(dx, dy, dz);
    const found = scene.cast(0, 1, 0, dx / len, dy / len, dz / len, 0, fast);
    slow.t = Infinity;
    for (const p of prims) intersect(p, 0, 1, 0, dx / len, dy / len, dz / len, 0, slow);
    assertEquals(found, slow.t !== Infinity);
    if (found) {
      hits++;
      assertEquals([fast.t, fast.mat], [slow.t, slow.mat]);
    }
  }
  assert(hits > 300, `only ${hits} rays hit something`);
});

Deno.test("scenes depend on (seed, index) only: the same twice, different across index and seed", () => {
  const a = hypersimFrame(indoorScene(5, 3), 5, 3, 1, 48, 36);
  const b = hypersimFrame(indoorScene(5, 3), 5, 3, 1, 48, 36);
  assertEquals(a.stored, b.stored);
  assertEquals(a.rendered.rgb.data, b.rendered.rgb.data);
  const other = hypersimFrame(indoorScene(5, 4), 5, 4, 1, 48, 36);
  const reseeded = hypersimFrame(indoorScene(6, 3), 6, 3, 1, 48, 36);
  assert(a.stored.some((v, i) => !Object.is(v, other.stored[i])));
  assert(a.stored.some((v, i) => !Object.is(v, reseeded.stored[i])));
  const s0 = vkitti2Frame(outdoorScene(5, 0, "clone"), 5, 0, 0, 60, 20);
  const s1 = vkitti2Frame(outdoorScene(5, 1, "clone"), 5, 1, 0, 60, 20);
  assert(s0.centimetres.some((v, i) => v !== s1.centimetres[i]));
});

Deno.test("vKITTI2 storage: cm = round(100 z), far hits capped at 65534, no hit = 65535", () => {
  assertEquals([...toCentimetres(Float64Array.of(0.004, 1.2349, 12.345001, 655.34, 700, NaN))], [
    0,
    123,
    1235,
    65534,
    65534,
    65535,
  ]);
});

Deno.test("intrinsic.txt numbers are printed as vKITTI2 prints them (%g) and scale with the size", () => {
  assertEquals([725.0087, 620.5, 187, 62.33333, -0.5327249, 0, -0, 1e-7, 1234567].map(formatG), [
    "725.009",
    "620.5",
    "187",
    "62.3333",
    "-0.532725",
    "0",
    "-0",
    "1e-07",
    "1.23457e+06",
  ]);
  const k = vkitti2Intrinsics(1242, 375);
  assertEquals([k.fx, k.fy, k.cx, k.cy], [725.009, 725.009, 620.5, 187]);
});

sharedTest("intrinsics at 414×125 are the ones in the shared Scene02 intrinsic.txt", async () => {
  const text = await Deno.readTextFile(join(FORMATS_DIR, "vkitti2/Scene02/fog/intrinsic.txt"));
  const k = vkitti2Intrinsics(414, 125);
  assertEquals(text.split("\n")[1], `0 0 ${[k.fx, k.fy, k.cx, k.cy].map(formatG).join(" ")}`);
});

/** All files under `dir`, as paths relative to it, sorted. */
async function listTree(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await listTree(path, base));
    else out.push(relative(base, path));
  }
  return out.sort();
}

/** Byte equality that names the first difference (a full diff of a binary file is slow and unreadable). */
function assertSameBytes(a: Uint8Array, b: Uint8Array, name: string) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  assert(i === n && a.length === b.length, `${name}: differs at byte ${i} (sizes ${a.length}, ${b.length})`);
}

/**
 * Two trees hold the same files with the same content. HDF5 files are compared by their dataset (libhdf5
 * stamps a modification time into the object header); `fixtures.json` (timings) is left out.
 */
async function assertSameTree(actual: string, expected: string) {
  const names = (await listTree(expected)).filter((n) => n !== "fixtures.json");
  assertEquals((await listTree(actual)).filter((n) => n !== "fixtures.json"), names);
  for (const name of names) {
    if (name.endsWith(".hdf5")) {
      const [a, b] = [await readHdf5Dataset(join(actual, name)), await readHdf5Dataset(join(expected, name))];
      assertEquals([a.dtype, a.shape], [b.dtype, b.shape], name);
      assertSameBytes(new Uint8Array(a.data.buffer), new Uint8Array(b.data.buffer), name);
    } else {
      assertSameBytes(
        await Deno.readFile(join(actual, name)),
        await Deno.readFile(join(expected, name)),
        name,
      );
    }
  }
}

Deno.test("Hypersim tree: the reader's official planar depth is the generator's, NaN exactly at no-hit pixels", async () => {
  const root = await Deno.makeTempDir();
  try {
    const [W, H, seed] = [64, 48, 11];
    await writeHypersimFixtures(root, { count: 6, width: W, height: H, seed, framesPerScene: 2 });
    const { frames, problems } = await listHypersimFrames(root);
    assertEquals([frames.length, problems.length], [6, 0]);
    let noHit = 0;
    for (const frame of frames) {
      const index = Number(frame.scene.slice(-3)) - 1;
      const made = hypersimFrame(indoorScene(seed, index), seed, index, Number(frame.frame), W, H);
      const sample = await readHypersimSample(frame, { planar: "official" });
      assertEquals([sample.intrinsics.fx, sample.intrinsics.cx], [made.camera.fx, made.camera.cx]);
      for (let i = 0; i < W * H; i++) {
        const want = made.rendered.planar[i];
        if (Number.isNaN(want)) {
          noHit++;
          assert(Number.isNaN(sample.depth[i]) && sample.valid[i] === 0, `${frame.rgbPath} pixel ${i}`);
          continue;
        }
        // Exactly the stored float16 distance times the generator's planar/distance factor (up to the reader's
        // float32), hence within float16 precision (half an ulp: 2⁻¹¹ relative) of the exact planar depth.
        const fromStored = made.stored[i] * (want / made.rendered.distance[i]);
        assertAlmostEquals(sample.depth[i], fromStored, fromStored * 2 ** -23, `${frame.rgbPath} pixel ${i}`);
        assertAlmostEquals(sample.depth[i], want, want * 2 ** -11 * 1.001, `${frame.rgbPath} pixel ${i}`);
        assertEquals(sample.valid[i], 1);
      }
      // The "exact" conversion with the fixtures' own M_cam_from_uv agrees with the official one.
      const cameras = new Map([[frame.scene, hypersimCamFromUv(W, H)]]);
      const exact = await readHypersimSample(frame, { planar: "exact", cameras });
      for (let i = 0; i < W * H; i++) {
        if (!Number.isNaN(exact.depth[i])) {
          assertAlmostEquals(exact.depth[i], sample.depth[i], 1e-6 * sample.depth[i]);
        }
      }
      // The JPEG holds the rendered colours up to JPEG loss.
      let err = 0;
      for (let i = 0; i < made.rendered.rgb.data.length; i++) {
        err += Math.abs(sample.rgb.data[i] - made.rendered.rgb.data[i]);
      }
      assert(
        err / made.rendered.rgb.data.length < 4,
        `${frame.rgbPath}: mean JPEG error ${err / (W * H * 3)}`,
      );
    }
    assert(noHit > 0, "no frame looks through a window");
    const val = await Deno.readTextFile(join(root, "splits/val.txt"));
    assertEquals(val.trim().split("\n").map((l) => l.split(" ")[0].split("/")[0]), [
      "ai_900_002",
      "ai_900_002",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("vKITTI2 tree: metres = round(cm)/100 exactly, sky invalid, intrinsics and extrinsics as rendered", async () => {
  const root = await Deno.makeTempDir();
  try {
    const [W, H, seed] = [90, 30, 4];
    await writeVkitti2Fixtures(root, { count: 4, width: W, height: H, seed, framesPerScene: 2 });
    const { frames, problems } = await listVkitti2Frames(root);
    assertEquals([frames.length, problems.length], [4, 0]);
    let sky = 0;
    for (const frame of frames) {
      const index = Number(frame.scene.slice(5)) - 1;
      const street = outdoorScene(seed, index, frame.variation as "clone", Number(frame.frame));
      const made = vkitti2Frame(street, seed, index, Number(frame.frame), W, H);
      const sample = await readVkitti2Sample(frame, { maxDepth: 80 });
      assertEquals(sample.intrinsics, {
        fx: made.camera.fx,
        fy: made.camera.fy,
        cx: made.camera.cx,
        cy: made.camera.cy,
      });
      for (let i = 0; i < W * H; i++) {
        const cm = made.centimetres[i];
        assertEquals(sample.depth[i], Math.fround(cm / 100));
        if (cm === 65535) sky++;
        assertEquals(sample.valid[i], cm !== 65535 && cm <= 8000 ? 1 : 0);
        const z = made.rendered.planar[i];
        if (cm < 65534) assertAlmostEquals(sample.depth[i], z, 0.005 + 1e-5, `pixel ${i}`);
      }
    }
    assert(sky > 0, "no sky in any frame");
    // Frame 1 moved forward along the road: the translation's z changes by the step, the rotation does not.
    const lines = (await Deno.readTextFile(join(frames[0].intrinsicPath, "../extrinsic.txt"))).trim().split(
      "\n",
    );
    const [e0, e1] = [lines[1].split(" ").map(Number), lines[2].split(" ").map(Number)];
    assertEquals([e0.length, e0.slice(14)], [18, [0, 0, 0, 1]]);
    const rotation = (e: number[]) => [2, 3, 4, 6, 7, 8, 10, 11, 12].map((i) => e[i]);
    assertEquals(rotation(e0), rotation(e1));
    assert(e1[13] < e0[13], "camera moves forward, so the world's z shrinks in camera space");
    assert(
      e0[2] > 0.99 && e0[7] > 0.99 && e0[12] > 0.99,
      "a level camera down the road: near-identity rotation",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("same seed, same files: two writes of a set are identical, inline or on 3 workers", async () => {
  const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const options = { count: 5, width: 40, height: 30, seed: 9, framesPerScene: 2 };
    await writeHypersimFixtures(a, { ...options, workers: 1 });
    await writeHypersimFixtures(b, { ...options, workers: 3 });
    await writeVkitti2Fixtures(join(a, "v"), { ...options, workers: 1 });
    await writeVkitti2Fixtures(join(b, "v"), { ...options, workers: 3 });
    await assertSameTree(a, b);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

for (const dataset of DATASET_NAMES) {
  Deno.test(`committed fixtures/${dataset} are what the generator makes now`, async () => {
    const record = JSON.parse(await Deno.readTextFile(join(FIXTURES, dataset, "fixtures.json")));
    const out = await Deno.makeTempDir();
    try {
      const write = dataset === "hypersim" ? writeHypersimFixtures : writeVkitti2Fixtures;
      await write(out, record.settings);
      await assertSameTree(out, join(FIXTURES, dataset));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

Deno.test("deno task fixtures: writes a tree and a record; a bad flag is one line and exit 1", async () => {
  const out = await Deno.makeTempDir();
  const task = resolve(import.meta.dirname!, "../../tasks/fixtures.ts");
  const config = resolve(import.meta.dirname!, "../../deno.json");
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", "--config", config, task, ...args] }).output();
  try {
    const ok = await run(
      "--dataset",
      "vkitti2",
      "--count",
      "2",
      "--size",
      "48x16",
      "--seed",
      "3",
      "--out",
      out,
    );
    assertEquals(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const record = JSON.parse(await Deno.readTextFile(join(out, "fixtures.json")));
    assertEquals([record.frames, record.settings.width, record.settings.seed], [2, 48, 3]);
    const bad = await run("--size", "48by16", "--out", out);
    assertEquals(bad.code, 1);
    assertEquals(
      new TextDecoder().decode(bad.stderr).trim(),
      'bad-argument: --size: expected WxH, got "48by16"',
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
