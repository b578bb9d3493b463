import assert from "node:assert/strict";
import { join } from "node:path";
import { TrompeError } from "../../core/errors.ts";
import { PickleWriter } from "../../core/io/pickle_writer.ts";
import { readPth, type StateDict, writePth } from "../../core/io/pth.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { writeZipFile, ZipReader } from "../../core/io/zip.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

async function assertSameAsSafetensors(tensors: StateDict, safetensorsPath: string) {
  const st = await readSafetensors(safetensorsPath);
  assert.deepEqual([...tensors.keys()].sort(), st.names().sort());
  for (const name of st.names()) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, [...st.shape(name)], name);
    assert.deepEqual(t.data, st.float32(name), name);
  }
}

for (const model of ["tiny-a", "tiny-b"]) {
  sharedTest(`pth: ${model}/weights.pth equals weights.safetensors, every key and value`, async () => {
    const pth = await readPth(join(REFERENCE_DIR, model, "weights.pth"));
    assert.equal(pth.kind, "state_dict");
    assert.equal(pth.archiveName, "weights");
    await assertSameAsSafetensors(pth.tensors, join(REFERENCE_DIR, model, "weights.safetensors"));
  });
}

sharedTest("pth: train.py's checkpoint gives the model without module. and summarises the rest", async () => {
  const pth = await readPth(join(REFERENCE_DIR, "tiny-a/train_ckpt.pth"));
  assert.equal(pth.kind, "training");
  await assertSameAsSafetensors(pth.tensors, join(REFERENCE_DIR, "tiny-a/after_step.safetensors"));
  assert.equal(pth.extras.epoch, 0);
  assert.equal((pth.extras.previous_best as Record<string, number>).d1, 0.1);
  const optimizer = pth.extras.optimizer as { param_groups: { lr: number; params: number[] }[] };
  assert.equal(optimizer.param_groups[0].lr, 1e-4);
  assert.ok(!("model" in pth.extras));
});

/**
 * A .pth whose tensors are views torch produces but trompe never writes: a storage offset with transposed
 * strides, two tensors sharing one storage, and half / bfloat16 storages.
 */
async function writeViewsPth(path: string) {
  const p = new PickleWriter();
  p.global("collections", "OrderedDict").emptyTuple().reduce().mark();
  const tensor = (
    name: string,
    type: string,
    key: string,
    numel: number,
    offset: number,
    shape: number[],
    stride: number[],
  ) => {
    p.string(name).global("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().string("storage").global("torch", type).string(key).string("cpu").int(numel).tuple()
      .persistentId();
    p.int(offset).intTuple(shape).intTuple(stride).bool(false);
    p.global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
  };
  tensor("transposed", "FloatStorage", "0", 12, 1, [2, 3], [1, 4]);
  tensor("row", "FloatStorage", "0", 12, 4, [4], [1]);
  tensor("half", "HalfStorage", "1", 3, 0, [3], [1]);
  tensor("bfloat", "BFloat16Storage", "2", 2, 0, [1, 2], [2, 1]);
  p.setItems();
  const f32 = new Float32Array(12).map((_, i) => i);
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555]); // 1, -2, 0.333251953125
  const bf16 = new Uint16Array([0x3f80, 0x4049]); // 1, 3.140625
  await writeZipFile(path, async (zip) => {
    await zip.add("views/data.pkl", p.finish());
    await zip.add("views/data/0", new Uint8Array(f32.buffer));
    await zip.add("views/data/1", new Uint8Array(f16.buffer));
    await zip.add("views/data/2", new Uint8Array(bf16.buffer));
    await zip.add("views/version", new TextEncoder().encode("3\n"));
  });
}

Deno.test("pth: strided views, storage offsets, shared storages and F16/BF16 are materialised", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeViewsPth(join(dir, "views.pth"));
    const { tensors } = await readPth(join(dir, "views.pth"));
    assert.deepEqual(tensors.get("transposed"), {
      shape: [2, 3],
      data: new Float32Array([1, 5, 9, 2, 6, 10]),
    });
    assert.deepEqual(tensors.get("row"), { shape: [4], data: new Float32Array([4, 5, 6, 7]) });
    assert.deepEqual(tensors.get("half"), { shape: [3], data: new Float32Array([1, -2, 0.333251953125]) });
    assert.deepEqual(tensors.get("bfloat"), { shape: [1, 2], data: new Float32Array([1, 3.140625]) });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sharedTest("pth: a written .pth reads back identically, laid out as PyTorch 2.x writes it", async () => {
  const { tensors } = await readPth(join(REFERENCE_DIR, "tiny-a/weights.pth"));
  const dir = await Deno.makeTempDir();
  const path = join(dir, "finetuned.pth");
  try {
    await writePth(path, tensors);
    const back = await readPth(path);
    assert.equal(back.archiveName, "finetuned");
    assert.equal(back.kind, "state_dict");
    assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
    for (const [name, t] of tensors) assert.deepEqual(back.tensors.get(name), t, name);

    const zip = await ZipReader.open(path);
    try {
      const storages = [...tensors.keys()].map((_, i) => `finetuned/data/${i}`);
      assert.deepEqual(zip.entries.map((e) => e.name), [
        "finetuned/data.pkl",
        "finetuned/.format_version",
        "finetuned/.storage_alignment",
        "finetuned/byteorder",
        ...storages,
        "finetuned/version",
        "finetuned/.data/serialization_id",
      ]);
      assert.equal(await zip.readText("finetuned/byteorder"), "little");
      assert.equal(await zip.readText("finetuned/version"), "3\n");
      assert.equal(await zip.readText("finetuned/.format_version"), "1");
      assert.equal(await zip.readText("finetuned/.storage_alignment"), "64");
      assert.match(await zip.readText("finetuned/.data/serialization_id"), /^\d{40}$/);
      for (const e of zip.entries) assert.equal((await zip.dataOffset(e.name)) % 64, 0, e.name);
      // data.pkl opens like torch's: PROTO 2, then the OrderedDict global.
      const pkl = await zip.read("finetuned/data.pkl");
      assert.deepEqual([...pkl.subarray(0, 3)], [0x80, 0x02, 0x63]);
      assert.equal(new TextDecoder().decode(pkl.subarray(3, 26)), "collections\nOrderedDict");
    } finally {
      zip.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pth: archive name can be set, and a tensor whose data does not fit its shape is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tensors: StateDict = new Map([["w", { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]);
    await writePth(join(dir, "a.pth"), tensors, { archiveName: "archive" });
    assert.equal((await readPth(join(dir, "a.pth"))).archiveName, "archive");
    const bad: StateDict = new Map([["w", { shape: [3], data: new Float32Array(2) }]]);
    await assert.rejects(writePth(join(dir, "b.pth"), bad), (e: unknown) => {
      assert.ok(e instanceof TrompeError);
      assert.equal(e.code, "shape-mismatch");
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.pth"]); // nothing half-written
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pth: a checkpoint importing os.system is refused before anything is read", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "evil.pth");
  try {
    // PROTO 2, GLOBAL os.system, BINUNICODE 'ls', BINPUT, TUPLE1, REDUCE, STOP
    const pickle = Uint8Array.from(
      "\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R.",
      (c) => c.charCodeAt(0),
    );
    await writeZipFile(path, (zip) => zip.add("evil/data.pkl", pickle));
    await assert.rejects(readPth(path), (e: unknown) => {
      assert.ok(e instanceof TrompeError);
      assert.equal(e.code, "forbidden");
      assert.equal(e.subject, path);
      assert.match(e.message, /os\.system/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
