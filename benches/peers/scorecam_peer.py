#!/usr/bin/env python3
"""The peer amva's Score-CAM is checked and benchmarked against: pytorch-grad-cam's
ScoreCAM (PyPI `grad-cam`) on fr_feature.onnx converted with onnx2torch, with a
cosine-similarity target (the embedding of the unmasked image), batch_size 8, 2 torch
threads. Its channel weights are a softmax of the scores, i.e. amva's `--score softmax`.

Setup (CPU only; the PyPI torch wheel is large, about 6 GB with its CUDA libraries):
    python3 -m venv .venv-peer
    .venv-peer/bin/pip install -r benches/peers/requirements.txt

Regenerate the committed fixture read by crates/amva-maps/tests/peer.rs:
    .venv-peer/bin/python benches/peers/scorecam_peer.py fixture \
        --images ../shared/faces/lfw-dev/aligned112 \
        --out crates/amva-maps/tests/fixtures/peer_scorecam

Throughput (used by `amva bench maps`; prints one JSON line):
    .venv-peer/bin/python benches/peers/scorecam_peer.py bench \
        --images ../shared/faces/lfw-dev/aligned112 --n 4
"""

import argparse
import json
import os
import sys
import time

import numpy as np

# The peer's per-batch progress bars would flood a benchmark's output; tqdm reads this
# when it is first imported.
os.environ.setdefault("TQDM_DISABLE", "1")


def image_ids(root):
    """Image ids exactly as amva lists a folder: relative paths, '/'-separated, sorted."""
    exts = {"jpg", "jpeg", "png", "pgm", "ppm", "pnm", "bmp", "tif", "tiff", "webp"}
    ids = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            if f.startswith(".") or f.rsplit(".", 1)[-1].lower() not in exts:
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            ids.append(rel.replace(os.sep, "/"))
    return sorted(ids, key=lambda s: s.encode())


def preprocess(path):
    """fr_feature.onnx's input: BGR, (pixel - 127) / 128, 1 x 3 x 112 x 112."""
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    assert rgb.shape == (112, 112, 3), f"{path}: expected an aligned 112x112 face"
    bgr = rgb[:, :, ::-1]
    return ((bgr - 127.0) / 128.0).transpose(2, 0, 1)[None].copy()


def load_model(onnx_path):
    """The ONNX model as a torch module. The final Reshape's shape constant [1, -1]
    fixes the batch at 1; it is replaced by [-1, D] so that batches of 8 run."""
    import onnx
    from onnx import numpy_helper
    from onnx2torch import convert

    m = onnx.load(onnx_path)
    g = m.graph
    out = g.output[0].name
    dim = g.output[0].type.tensor_type.shape.dim[-1].dim_value or 512
    for node in g.node:
        if node.op_type == "Reshape" and out in node.output:
            name = node.input[1]
            new = numpy_helper.from_array(np.array([-1, dim], dtype=np.int64), name)
            inits = [i for i in g.initializer if i.name == name]
            if inits:
                inits[0].CopyFrom(new)
            else:
                for c in g.node:
                    if c.op_type == "Constant" and name in c.output:
                        c.attribute[0].t.CopyFrom(new)
    target = next(n.name for n in g.node if "507" in n.output)
    model = convert(m).eval()
    layer = dict(model.named_modules())[target]
    return model, layer


class CosineTarget:
    """Similarity of a (masked) image's embedding to the unmasked image's."""

    def __init__(self, e0):
        self.e0 = e0

    def __call__(self, output):
        import torch

        return torch.nn.functional.cosine_similarity(output, self.e0, dim=0)


def scorecam(model, layer, x, batch):
    import torch
    from pytorch_grad_cam import ScoreCAM

    with torch.no_grad():
        e0 = model(x)[0]
    cam = ScoreCAM(model=model, target_layers=[layer])
    cam.batch_size = batch
    return cam(input_tensor=x, targets=[CosineTarget(e0)])[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["fixture", "bench"])
    ap.add_argument("--images", required=True)
    ap.add_argument("--model", default=None, help="default: ../shared/models/fr_feature.onnx beside the repo")
    ap.add_argument("--out", default=None)
    ap.add_argument("--n", type=int, default=20, help="faces (fixture: spread evenly over the sorted list)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1, help="bench: timed rounds over the faces; the median is reported")
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    here = os.path.dirname(os.path.abspath(__file__))
    model_path = a.model or os.path.join(here, "..", "..", "..", "shared", "models", "fr_feature.onnx")
    model, layer = load_model(model_path)
    ids = image_ids(a.images)
    step = max(1, len(ids) // a.n)
    chosen = [ids[i * step] for i in range(min(a.n, len(ids)))]
    xs = [torch.from_numpy(preprocess(os.path.join(a.images, i))) for i in chosen]

    if a.mode == "bench":
        scorecam(model, layer, xs[0], a.batch)  # warm-up
        rounds = []
        for _ in range(max(1, a.rounds)):
            t = time.perf_counter()
            for x in xs:
                scorecam(model, layer, x, a.batch)
            rounds.append((time.perf_counter() - t) / len(xs))
        secs = float(np.median(rounds))
        print(json.dumps({"peer": "pytorch-grad-cam ScoreCAM", "seconds_per_image": secs,
                          "rounds_seconds_per_image": rounds,
                          "images": len(xs), "batch": a.batch, "threads": a.threads,
                          "torch": torch.__version__}))
        return

    if not a.out:
        sys.exit("fixture mode needs --out")
    os.makedirs(a.out, exist_ok=True)
    maps = []
    t = time.perf_counter()
    for i, x in zip(chosen, xs):
        maps.append(scorecam(model, layer, x, a.batch).astype(np.float32))
        print(f"{i}: done", file=sys.stderr)
    secs = (time.perf_counter() - t) / len(xs)
    np.save(os.path.join(a.out, "maps.npy"), np.stack(maps))
    from importlib.metadata import version

    meta = {
        "what": "pytorch-grad-cam ScoreCAM maps (112x112, its own ReLU, min-max, cv2 resize) of fr_feature.onnx via onnx2torch, cosine-similarity target, softmax weights",
        "regenerate": "benches/peers/scorecam_peer.py fixture --images ../shared/faces/lfw-dev/aligned112 --out crates/amva-maps/tests/fixtures/peer_scorecam",
        "images": chosen,
        "batch": a.batch,
        "threads": a.threads,
        "seconds_per_image": round(secs, 3),
        "versions": {p: version(p) for p in ["torch", "onnx2torch", "grad-cam", "onnx", "numpy", "opencv-python-headless"]},
    }
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
