#!/usr/bin/env python3
"""The PyTorch peer of bench/train_small_bench.ts: the same training step of a small Depth Anything V2 given by
trompe's config fields (--config, JSON: embedDim, depth, heads, mlpRatio, features, outChannels, layers,
maxDepth; the default is the demo's small model, core/study/small_model.ts) at --size on this machine's CPU, from
random weights: metric_depth/train.py's step as shipped (train mode, SiLogLoss over valid & 0.001 <= d <=
max depth, backward, AdamW with the encoder at lr and the decoder at 10x, zero_grad). The model is the official
code in ../shared/anchors/torch/dav2 (imported in place, not copied), with only the encoder's size changed.

Prints one JSON object: {torch, threads, timings: [{batch, median_ms, samples_per_s}]}. The median is over
`--repeats` steps after two warm-up steps. Debian's python3-torch is a generic CPU build: say so beside it.

  /usr/bin/python3 bench/torch_train_small.py --batches 1,4,8 --repeats 5 [--size 70] [--config JSON] [--threads 2]
"""
import argparse, json, os, statistics, sys, time, types

HERE = os.path.dirname(os.path.abspath(__file__))
DAV2 = os.path.join(HERE, "..", "..", "shared", "anchors", "torch", "dav2")
if not os.path.isdir(DAV2):
    sys.exit(f"the official model code is not at {DAV2} (../shared is absent)")
sys.path.insert(0, DAV2)
try:
    import torch  # noqa: E402
except ImportError:
    sys.exit("no torch for this python3 (Debian: apt-get install -y python3-torch)")
from functools import partial  # noqa: E402

# dpt.py imports OpenCV and torchvision's Compose for inference-time preprocessing only; training never calls
# them. Where python3 lacks them (Debian's python3-torch pulls in neither), stand-in modules let the model
# code import unchanged.
def _stand_in(attr):
    if attr.startswith("__"):
        raise AttributeError(attr)
    return 0


for name in ("cv2", "torchvision", "torchvision.transforms"):
    try:
        __import__(name)
    except ImportError:
        stub = types.ModuleType(name)
        stub.__getattr__ = _stand_in
        sys.modules[name] = stub
import depth_anything_v2.dpt as dpt  # noqa: E402
from depth_anything_v2.dinov2 import DinoVisionTransformer  # noqa: E402
from depth_anything_v2.dinov2_layers import MemEffAttention, NestedTensorBlock as Block  # noqa: E402
from util.loss import SiLogLoss  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--batches", default="1,4,8")
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--size", type=int, default=70)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--config", default=json.dumps({
    "embedDim": 64, "depth": 4, "heads": 4, "mlpRatio": 4, "features": 32, "outChannels": [16, 32, 64, 64],
    "layers": [0, 1, 2, 3], "maxDepth": 20,
}))
args = ap.parse_args()
config = json.loads(args.config)
torch.set_num_threads(args.threads)


def small_encoder(model_name):
    # DINOv2(model_name) with the config's width and depth; every other setting as dinov2.py's DINOv2.
    return DinoVisionTransformer(
        img_size=518, patch_size=14, embed_dim=config["embedDim"], depth=config["depth"],
        num_heads=config["heads"], mlp_ratio=config["mlpRatio"],
        block_fn=partial(Block, attn_class=MemEffAttention), init_values=1.0, ffn_layer="mlp",
        block_chunks=0, num_register_tokens=0, interpolate_antialias=False, interpolate_offset=0.1,
    )


dpt.DINOv2 = small_encoder


def make_model():
    torch.manual_seed(0)
    model = dpt.DepthAnythingV2(
        encoder="vits", features=config["features"], out_channels=config["outChannels"],
        max_depth=float(config["maxDepth"]),
    )
    model.intermediate_layer_idx = {"vits": config["layers"]}
    return model.train()


def measure(batch):
    model = make_model()
    lr = 5e-6
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in model.named_parameters() if "pretrained" in n], "lr": lr},
            {"params": [p for n, p in model.named_parameters() if "pretrained" not in n], "lr": lr * 10.0},
        ],
        lr=lr, betas=(0.9, 0.999), weight_decay=0.01,
    )
    criterion = SiLogLoss()
    g = torch.Generator().manual_seed(1)
    image = torch.randn(batch, 3, args.size, args.size, generator=g)
    depth = 1.0 + 9.0 * torch.rand(batch, args.size, args.size, generator=g)
    valid = torch.ones(batch, args.size, args.size, dtype=torch.bool)

    def step():
        pred = model(image)
        loss = criterion(pred, depth, valid & (depth >= 0.001) & (depth <= float(config["maxDepth"])))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    for _ in range(2):
        step()
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    ms = statistics.median(times)
    return {"batch": batch, "median_ms": ms, "samples_per_s": batch * 1000 / ms, "times_ms": times}


result = {
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "timings": [measure(int(b)) for b in args.batches.split(",")],
}
print(json.dumps(result))
