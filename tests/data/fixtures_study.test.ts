/**
 * The study scene style (core/data/fixtures/study.ts): deterministic per seed, train and held-out scenes
 * disjoint, depth exact (floor against the ray-plane distance, openings with depth beyond their wall, boards
 * planar), opening masks exactly the pixels that see out, and rich enough (openings and boards in view in a good share of frames).
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join, relative, resolve } from "node:path";
import { hypersimCamFromUv } from "../../core/data/fixtures/camera.ts";
import { OPENING_LABEL, openingMask } from "../../core/data/fixtures/opening_mask.ts";
import { studyFrame } from "../../core/data/fixtures/frames.ts";
import { Hit, intersect, room } from "../../core/data/fixtures/primitives.ts";
import {
  MAX_STUDY_SCENES,
  type StudyPart,
  studyRng,
  type StudyScene,
  studyScene,
  studySceneKey,
  studySceneName,
  studyScenePart,
} from "../../core/data/fixtures/study.ts";
import type { Camera } from "../../core/data/fixtures/camera.ts";
import { writeHypersimFixtures } from "../../core/data/fixtures/write.ts";
import { readCameraCsv } from "../../core/data/hypersim_cameras.ts";
import { listHypersimFrames, readHypersimSample } from "../../core/data/hypersim.ts";
import { readHdf5Dataset } from "../../core/io/hdf5.ts";

const W = 64, H = 48;

/** The renderer's ray for pixel (r, c), computed as render.ts computes it, so a cast meets the same surface. */
function pixelRay(cam: Camera, r: number, c: number): [number, number, number, number] {
  const R = cam.rotation;
  const yc = (r - cam.cy) / cam.fy, xc = (c - cam.cx) / cam.fx;
  const inv = 1 / Math.sqrt(xc * xc + yc * yc + 1);
  return [
    (R[0] * xc + R[1] * yc + R[2]) * inv,
    (R[3] * xc + R[4] * yc + R[5]) * inv,
    (R[6] * xc + R[7] * yc + R[8]) * inv,
    inv,
  ];
}

/** The main room without its openings: where a ray would meet the wall if the wall were whole. */
function wholeRoom(s: StudyScene) {
  return room(-s.width / 2, s.width / 2, -s.depth / 2, s.depth / 2, s.height, {
    walls: 0,
    floor: 0,
    ceiling: 0,
  }, []);
}

/** Whether a hit's normal is a wall's inward normal: the face of a board on that wall, not its edge. */
function facesRoom(hit: Hit, wall: 0 | 1 | 4 | 5): boolean {
  const normal = { 0: [1, 0, 0], 1: [-1, 0, 0], 4: [0, 0, 1], 5: [0, 0, -1] }[wall];
  return hit.nx === normal[0] && hit.ny === normal[1] && hit.nz === normal[2];
}

interface FrameFacts {
  /** Pixels whose ray leaves through an opening with nothing in the room in front of it. */
  through: number;
  /** Of those, pixels with a finite depth beyond the wall (the rest see sky). */
  beyond: number;
  floor: number;
  board: number;
}

/**
 * Checks one frame pixel by pixel and counts what it shows: floor depth = camera height / (ray · down);
 * nothing is seen beyond a wall except through an opening; through an unobstructed opening the depth lies
 * beyond the wall; a board's face points lie on its plane, `offset` in front of its wall.
 */
function checkFrame(s: StudyScene, seed: number, part: StudyPart, index: number, frame: number): FrameFacts {
  const made = studyFrame(s, seed, part, index, frame, W, H);
  const cam = made.camera, [px, py, pz] = cam.position;
  const mask = openingMask(s, cam, made.rendered.distance);
  const whole = wholeRoom(s), hit = new Hit(), probe = new Hit(), wall = new Hit();
  const faces = new Map(s.boards.map((b) => [b.face, b]));
  const facts: FrameFacts = { through: 0, beyond: 0, floor: 0, board: 0 };
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const i = r * W + c, d = made.rendered.distance[i];
      const [dx, dy, dz, inv] = pixelRay(cam, r, c);
      wall.t = Infinity;
      assert(intersect(whole, px, py, pz, dx, dy, dz, 0, wall), `pixel ${r},${c} leaves the closed room`);
      probe.t = Infinity;
      const viaOpening = !intersect(s.room, px, py, pz, dx, dy, dz, 0, probe);
      // The opening mask (eval's negatives) is exactly the pixels that see out through an opening.
      const seesOut = viaOpening && !s.scene.occluded(px, py, pz, dx, dy, dz, 0, wall.t);
      assertEquals(mask?.[i] ?? 0, seesOut ? OPENING_LABEL : 0, `opening mask at ${r},${c}`);
      if (!viaOpening) {
        assert(
          d <= wall.t * (1 + 1e-12),
          `scene ${index} frame ${frame} pixel ${r},${c}: ${d} behind a wall`,
        );
      } else if (!s.scene.occluded(px, py, pz, dx, dy, dz, 0, wall.t)) {
        facts.through++;
        assert(Number.isNaN(d) || d > wall.t, `pixel ${r},${c}: ${d} not beyond the opening at ${wall.t}`);
        if (!Number.isNaN(d)) facts.beyond++;
      }
      s.scene.cast(px, py, pz, dx, dy, dz, 0, hit);
      assertEquals(hit.t === Infinity ? NaN : hit.t, d);
      if (hit.mat === s.floor && hit.ny === 1) {
        const exact = py / -dy;
        assert(Math.abs(d - exact) <= 1e-9 * exact, `floor pixel ${r},${c}: ${d} ≠ ${exact}`);
        assert(Math.abs(made.rendered.planar[i] - exact * inv) <= 1e-9 * exact);
        assert(Math.abs(made.stored[i] - exact) <= exact * 2 ** -11, "float16 within half an ulp");
        facts.floor++;
      }
      const board = faces.get(hit.mat);
      if (board && facesRoom(hit, board.wall)) {
        const x = px + d * dx, y = py + d * dy, z = pz + d * dz;
        const n = board.wall === 0
          ? -s.width / 2 - x
          : board.wall === 1
          ? x - s.width / 2
          : board.wall === 4
          ? -s.depth / 2 - z
          : z - s.depth / 2;
        assert(
          Math.abs(n + board.offset) < 1e-9,
          `board face point ${n} m off its wall, expected ${-board.offset}`,
        );
        assert(y >= board.v0 - 1e-9 && y <= board.v1 + 1e-9);
        facts.board++;
      }
    }
  }
  return facts;
}

Deno.test("study scenes: the same seed gives the same bytes; index, seed and part each change the scene", () => {
  const a = studyFrame(studyScene(3, "train", 5), 3, "train", 5, 1, W, H);
  const b = studyFrame(studyScene(3, "train", 5), 3, "train", 5, 1, W, H);
  assertEquals(a.stored, b.stored);
  assertEquals(a.rendered.rgb.data, b.rendered.rgb.data);
  const differs = (other: typeof a) => a.stored.some((v, i) => !Object.is(v, other.stored[i]));
  assert(differs(studyFrame(studyScene(3, "train", 6), 3, "train", 6, 1, W, H)), "index");
  assert(differs(studyFrame(studyScene(4, "train", 5), 4, "train", 5, 1, W, H)), "seed");
  assert(differs(studyFrame(studyScene(3, "heldout", 5), 3, "heldout", 5, 1, W, H)), "part");
  assert(differs(studyFrame(studyScene(3, "train", 5), 3, "train", 5, 2, W, H)), "frame");
});

Deno.test("study scenes: train and held-out never share a scene, a key or a name", () => {
  const keys = new Map<string, string>();
  for (const seed of [0, 1, 2]) {
    for (const [part, count] of [["train", 3000], ["heldout", 600]] as const) {
      for (let index = 0; index < count; index++) {
        const key = studySceneKey(seed, part, index), who = `${seed}/${part}/${index}`;
        assert(!keys.has(key), `${who} has the key of ${keys.get(key)}`);
        keys.set(key, who);
      }
    }
  }
  // The part is in the key: the same seed and index in the other part is another scene.
  assert(studySceneKey(0, "train", 0) !== studySceneKey(0, "heldout", 0));
  const names = new Set<string>();
  for (const part of ["train", "heldout"] as const) {
    for (const index of [0, 1, 998, 999, 5000, MAX_STUDY_SCENES - 1]) {
      const name = studySceneName(part, index);
      assert(!names.has(name), name);
      names.add(name);
      assertEquals(studyScenePart(name), { part, index });
    }
  }
  assertEquals([studySceneName("train", 0), studySceneName("heldout", 0)], ["ai_910_001", "ai_950_001"]);
  assert.throws(() => studyRng(0, "train", MAX_STUDY_SCENES), /outside/);
  assert.throws(() => studyRng(0, "test" as StudyPart, 0), /train or heldout/);
});

Deno.test("study depth is exact: floor = ray-plane distance, openings see beyond their wall and are masked, boards planar", () => {
  let frames = 0, withView = 0, withBoard = 0, withFloor = 0, scenesWithOpening = 0, scenesWithBoard = 0;
  for (let index = 0; index < 12; index++) {
    const s = studyScene(7, index % 3 === 0 ? "heldout" : "train", index);
    const part = index % 3 === 0 ? "heldout" : "train";
    if (s.openings.length > 0) scenesWithOpening++;
    if (s.boards.length > 0) scenesWithBoard++;
    for (let frame = 0; frame < 3; frame++) {
      const f = checkFrame(s, 7, part, index, frame);
      frames++;
      if (f.beyond >= 0.02 * W * H) withView++;
      if (f.board >= 0.01 * W * H) withBoard++;
      if (f.floor >= 0.05 * W * H) withFloor++;
    }
  }
  assert(scenesWithOpening >= 11 && scenesWithBoard >= 11, `${scenesWithOpening}, ${scenesWithBoard} of 12`);
  assert(withView >= 0.3 * frames, `${withView} of ${frames} frames show ≥ 2 % depth through an opening`);
  assert(withBoard >= 0.3 * frames, `${withBoard} of ${frames} frames show ≥ 1 % board face`);
  assert(withFloor >= 0.6 * frames, `${withFloor} of ${frames} frames show ≥ 5 % floor`);
});

Deno.test("study boards are planes in the image too: inverse depth is affine in pixel coordinates", () => {
  let checked = 0;
  for (let index = 0; index < 8 && checked < 4; index++) {
    const s = studyScene(2, "train", index);
    for (let frame = 0; frame < 3; frame++) {
      const made = studyFrame(s, 2, "train", index, frame, W, H);
      const cam = made.camera, hit = new Hit();
      for (const board of s.boards) {
        const pts: number[][] = [];
        for (let r = 0; r < H; r++) {
          for (let c = 0; c < W; c++) {
            const [dx, dy, dz] = pixelRay(cam, r, c);
            s.scene.cast(cam.position[0], cam.position[1], cam.position[2], dx, dy, dz, 0, hit);
            if (hit.mat === board.face && facesRoom(hit, board.wall)) {
              pts.push([c, r, 1 / made.rendered.planar[r * W + c]]);
            }
          }
        }
        if (pts.length < 30) continue;
        // Least squares 1/z = a + b·c + e·r over the face's pixels (the study's flatness measure).
        const res = affineResidual(pts);
        assert(res < 1e-6, `scene ${index} frame ${frame} ${board.kind}: relative residual ${res}`);
        checked++;
      }
    }
  }
  assert(checked >= 4, `only ${checked} boards in view`);
});

/** RMS relative residual of the least-squares fit v = a + b·x + c·y over points [x, y, v]. */
function affineResidual(pts: number[][]): number {
  const A = [[0, 0, 0], [0, 0, 0], [0, 0, 0]], rhs = [0, 0, 0];
  for (const [x, y, v] of pts) {
    const row = [1, x, y];
    for (let i = 0; i < 3; i++) {
      rhs[i] += row[i] * v;
      for (let j = 0; j < 3; j++) A[i][j] += row[i] * row[j];
    }
  }
  // Cramer's rule on the 3×3 normal equations.
  const det = (m: number[][]) =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const D = det(A);
  const coef = [0, 1, 2].map((k) => det(A.map((row, i) => row.map((v, j) => (j === k ? rhs[i] : v)))) / D);
  let sum = 0;
  for (const [x, y, v] of pts) sum += ((coef[0] + coef[1] * x + coef[2] * y - v) / v) ** 2;
  return Math.sqrt(sum / pts.length);
}

async function listTree(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await listTree(path, base));
    else out.push(relative(base, path));
  }
  return out.sort();
}

Deno.test("study trees: same bytes twice; held-out all in val with its own names; exact planar via the CSV", async () => {
  const [a, b, h] = [await Deno.makeTempDir(), await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const options = { count: 4, width: W, height: H, seed: 9, framesPerScene: 2, style: "study" } as const;
    await writeHypersimFixtures(a, { ...options, workers: 1 });
    await writeHypersimFixtures(b, { ...options, workers: 2 });
    const names = await listTree(a);
    assertEquals(await listTree(b), names);
    for (const name of names) {
      const [x, y] = name.endsWith(".hdf5")
        ? [(await readHdf5Dataset(join(a, name))).data, (await readHdf5Dataset(join(b, name))).data]
        : [await Deno.readFile(join(a, name)), await Deno.readFile(join(b, name))];
      assertEquals(new Uint8Array(x.buffer), new Uint8Array(y.buffer), name);
    }
    assertEquals(
      (await Deno.readTextFile(join(a, "splits/train.txt"))).split("\n")[0].split("/")[0],
      "ai_910_001",
    );

    const summary = await writeHypersimFixtures(h, { ...options, part: "heldout" });
    assertEquals([summary.part, summary.train, summary.val], ["heldout", 0, 4]);
    assertEquals(await Deno.readTextFile(join(h, "splits/train.txt")), "");
    const heldScenes = new Set((await listHypersimFrames(h)).frames.map((f) => f.scene));
    const trainScenes = new Set((await listHypersimFrames(a)).frames.map((f) => f.scene));
    assertEquals([...heldScenes].sort(), ["ai_950_001", "ai_950_002"]);
    assert([...heldScenes].every((s) => !trainScenes.has(s)));

    // Each scene's own field of view is in metadata_camera_parameters.csv; the exact conversion with it gives
    // the generator's planar depth.
    const cameras = await readCameraCsv(join(h, "metadata_camera_parameters.csv"));
    const { frames } = await listHypersimFrames(h);
    for (const frame of frames) {
      const { part, index } = studyScenePart(frame.scene)!;
      const s = studyScene(9, part, index);
      assertEquals(cameras.get(frame.scene), hypersimCamFromUv(W, H, s.focalScale));
      const made = studyFrame(s, 9, part, index, Number(frame.frame), W, H);
      const exact = await readHypersimSample(frame, { planar: "exact", cameras });
      for (let i = 0; i < W * H; i++) {
        const want = made.rendered.planar[i];
        if (Number.isNaN(want)) assert(Number.isNaN(exact.depth[i]));
        else assert(Math.abs(exact.depth[i] - want) <= want * 2 ** -11 * 1.01, `${frame.rgbPath} ${i}`);
      }
    }
  } finally {
    for (const dir of [a, b, h]) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task fixtures --style study --part heldout: a record saying so; --part without study is refused", async () => {
  const out = await Deno.makeTempDir();
  const task = resolve(import.meta.dirname!, "../../tasks/fixtures.ts");
  const config = resolve(import.meta.dirname!, "../../deno.json");
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", "--config", config, task, ...args] }).output();
  try {
    const ok = await run(
      "--style",
      "study",
      "--part",
      "heldout",
      "--count",
      "2",
      "--size",
      "32x24",
      "--out",
      out,
    );
    assertEquals(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const record = JSON.parse(await Deno.readTextFile(join(out, "fixtures.json")));
    assertEquals([record.dataset, record.settings.style, record.settings.part, record.part, record.val], [
      "hypersim",
      "study",
      "heldout",
      "heldout",
      2,
    ]);
    assert(/heldout/.test(record.seedRule));
    const bad = await run("--part", "heldout", "--out", out);
    assertEquals(bad.code, 1);
    assertEquals(
      new TextDecoder().decode(bad.stderr).trim(),
      "bad-argument: --part: --part heldout needs --style study and train or heldout",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
