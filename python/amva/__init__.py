"""amva in Python: Activation Map Variation Analysis with numpy in and out.

Each function runs the same library call as the ``amva`` command of the same name (in
this process, through ``amva._native``, with the GIL released) in a temporary folder
and returns its results as numpy arrays; nothing is computed a second way. Errors raise
:class:`AmvaError` with amva's message.

``images`` is everywhere one of:

- a folder of images (searched recursively; ids are paths relative to it, ``/``-separated);
- a CSV/TSV list file with a path column, as the command takes it;
- a list of image file paths (ids: their file names);
- a ``uint8`` array ``N x H x W x 3`` (RGB), with ``ids`` (default ``"0"``, ``"1"``, ...).

Example::

    import amva, numpy as np
    ids, emb = amva.embed("faces/")                        # N x 512
    ids, maps = amva.maps("faces/", method="ablation")     # N x 112 x 112, 0-1
    summary = amva.analyze((ids, maps), {"mine": dict(zip(ids, my_scores))},
                           out="analysis/", directions={"mine": "higher"})
    print(summary["key_findings"]["methods"][0]["verdict"])
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import AmvaError

__all__ = ["AmvaError", "embed", "maps", "quality", "compare", "analyze", "command", "read_images"]

Images = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]], np.ndarray]


def command(*args: str, progress: bool = False) -> None:
    """Runs one amva command, e.g. ``amva.command("maps", "--images", "faces/", "--out", "m/")``.

    Raises :class:`AmvaError` when it fails. Without ``progress``, runs with ``--quiet``.
    """
    argv = ["amva"] + ([] if progress else ["--quiet"]) + [str(a) for a in args]
    _native.run(argv)


def read_images(paths: Sequence[Union[str, os.PathLike]]) -> np.ndarray:
    """Images decoded as amva decodes them (EXIF orientation applied): a uint8 array
    N x H x W x 3 (RGB); every image must have the same size."""
    arrays = []
    for p in paths:
        data, w, h = _native.read_image(str(p))
        arrays.append(np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3))
    if len({a.shape for a in arrays}) > 1:
        raise ValueError(f"images of different sizes: {sorted({a.shape for a in arrays})}")
    return np.stack(arrays) if arrays else np.zeros((0, 0, 0, 3), np.uint8)


def embed(
    images: Images,
    model: Optional[str] = None,
    engine: str = "auto",
    ids: Optional[Sequence[str]] = None,
    resize: bool = False,
    progress: bool = False,
) -> Tuple[List[str], np.ndarray]:
    """Embeddings of the images (``amva embed``): ``(ids, N x D float32)``, raw (not
    normalised). Images that fail are left out (their ids are not returned)."""
    with tempfile.TemporaryDirectory(prefix="amva-") as tmp:
        src, back = _image_source(images, ids, tmp)
        out = os.path.join(tmp, "embeddings")
        flags = _model_flags(model, engine) + (["--resize"] if resize else [])
        command("embed", "--images", src, "--out", out, *flags, progress=progress)
        rows = _index(os.path.join(out, "index.csv"))
        values = np.load(os.path.join(out, "embeddings.npy"))
    return [back(i) for i in rows], values


def maps(
    images: Images,
    method: str = "scorecam",
    model: Optional[str] = None,
    engine: str = "auto",
    ids: Optional[Sequence[str]] = None,
    low_res: bool = False,
    resize: bool = False,
    progress: bool = False,
    **options: Any,
) -> Tuple[List[str], np.ndarray]:
    """Activation maps of the images (``amva maps --method METHOD --full``):
    ``(ids, N x H x W float32)``, finished maps (0-1, as ``maps_full.npy``); with
    ``low_res=True`` the store's ``N x h x w`` maps (``maps.npy``).

    ``options`` are further flags of ``amva maps``: ``channels="fast"`` is
    ``--channels fast``, ``batch=8`` is ``--batch 8``, ``True`` a bare flag."""
    with tempfile.TemporaryDirectory(prefix="amva-") as tmp:
        src, back = _image_source(images, ids, tmp)
        out = os.path.join(tmp, "maps")
        flags = ["--method", method] + _model_flags(model, engine) + _options(options)
        flags += [] if low_res else ["--full"]
        flags += ["--resize"] if resize else []
        command("maps", "--images", src, "--out", out, *flags, progress=progress)
        rows = _index(os.path.join(out, "index.csv"))
        values = np.load(os.path.join(out, "maps.npy" if low_res else "maps_full.npy"))
    return [back(i) for i in rows], values


def quality(
    images: Images,
    methods: Iterable[str] = ("magnitude", "serfiq"),
    model: Optional[str] = None,
    ids: Optional[Sequence[str]] = None,
    resize: bool = False,
    progress: bool = False,
) -> Tuple[List[str], Dict[str, np.ndarray]]:
    """FIQA scores (``amva quality --fiqa ...``): ``(ids, {method: N float64})`` over every
    image (NaN where an image failed), each method in its own direction (see
    ``amva quality --help``; BRISQUE: lower is better)."""
    names = list(methods)
    with tempfile.TemporaryDirectory(prefix="amva-") as tmp:
        src, back = _image_source(images, ids, tmp)
        out = os.path.join(tmp, "q.csv")
        flags = ["--fiqa", ",".join(names)] + (["--model", str(model)] if model else [])
        flags += ["--resize"] if resize else []
        command("quality", "--images", src, "--out", out, *flags, progress=progress)
        scores: Dict[str, Dict[str, float]] = {m: {} for m in names}
        with open(out, newline="") as f:
            for row in csv.DictReader(f):
                scores.setdefault(row["method"], {})[row["image"]] = float(row["score"])
        failed = _index(os.path.join(tmp, "q.failed.csv"), column="image")
    every = sorted({i for s in scores.values() for i in s} | set(failed))
    table = {m: np.array([s.get(i, np.nan) for i in every]) for m, s in scores.items()}
    return [back(i) for i in every], table


def compare(
    pairs: Union[str, os.PathLike],
    images: Union[str, os.PathLike],
    method: Optional[str] = None,
    full: bool = False,
    model: Optional[str] = None,
    engine: str = "auto",
    progress: bool = False,
) -> Dict[str, Any]:
    """Why each comparison of a pairs file matches or fails (``amva compare``): a dict with
    ``index`` (rows of index.csv as dicts: row, line, a, b, label, similarity),
    ``similar`` and ``dissimilar`` (N x 2 x h x w), with ``full`` also ``similar_full``
    and ``dissimilar_full`` (N x 2 x H x W, 0-1), and ``meta`` (meta.json)."""
    with tempfile.TemporaryDirectory(prefix="amva-") as tmp:
        out = os.path.join(tmp, "comparisons")
        flags = _model_flags(model, engine) + (["--method", method] if method else [])
        flags += ["--full"] if full else []
        command("compare", "--pairs", str(pairs), "--images", str(images), "--out", out,
                *flags, progress=progress)
        with open(os.path.join(out, "index.csv"), newline="") as f:
            index = list(csv.DictReader(f))
        result: Dict[str, Any] = {"index": index}
        names = ["similar", "dissimilar"] + (["similar_full", "dissimilar_full"] if full else [])
        for name in names:
            result[name] = np.load(os.path.join(out, name + ".npy"))
        with open(os.path.join(out, "meta.json")) as f:
            result["meta"] = json.load(f)
    return result


def analyze(
    maps: Union[str, os.PathLike, Tuple[Sequence[str], np.ndarray]],
    scores: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]], Mapping[str, Mapping[str, float]]],
    out: Union[str, os.PathLike],
    groups: Optional[Union[str, os.PathLike]] = None,
    pairs: Optional[Union[str, os.PathLike]] = None,
    embeddings: Optional[Union[str, os.PathLike]] = None,
    images: Optional[Union[str, os.PathLike]] = None,
    directions: Optional[Mapping[str, str]] = None,
    progress: bool = False,
    **options: Any,
) -> Dict[str, Any]:
    """The analysis (``amva analyze``) written to ``out`` (report.html, figures, every
    number), returned as the dict of its summary.json.

    ``maps``: a map store folder, or ``(ids, N x H x W array)`` of finished maps.
    ``scores``: score files, or ``{method: {image id: score}}``.
    ``directions``: ``{method: "higher" | "lower"}``, which way is better (default for a
    method amva does not know: higher). ``options`` are further flags of ``amva analyze``
    (``permutations=1000`` is ``--permutations 1000``)."""
    with tempfile.TemporaryDirectory(prefix="amva-") as tmp:
        store = _map_store(maps, tmp)
        files = _score_files(scores, tmp)
        args = ["analyze", "--maps", store, "--out", str(out)]
        if not isinstance(maps, (str, os.PathLike)):
            args.append("--full-maps")  # the array's maps are finished maps
        for f in files:
            args += ["--scores", f]
        for flag, value in (("--groups", groups), ("--pairs", pairs),
                            ("--embeddings", embeddings), ("--images", images)):
            if value is not None:
                args += [flag, str(value)]
        for method, way in (directions or {}).items():
            args += ["--direction", f"{method}={way}"]
        command(*args, *_options(options), progress=progress)
    with open(os.path.join(str(out), "summary.json")) as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------


def _model_flags(model: Optional[str], engine: str) -> List[str]:
    return (["--model", str(model)] if model else []) + ["--engine", engine]


def _options(options: Mapping[str, Any]) -> List[str]:
    """``{"channels": "fast", "gallery": True}`` -> ``["--channels", "fast", "--gallery"]``."""
    flags: List[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False or value is None:
            continue
        else:
            flags += [flag, str(value)]
    return flags


def _index(path: str, column: str = "image") -> List[str]:
    """The ``column`` of a CSV written by amva (an empty list when the file is absent)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [row[column] for row in csv.DictReader(f)]


def _image_source(images: Images, ids: Optional[Sequence[str]], tmp: str):
    """What ``--images`` gets for ``images``, and how an amva id maps back to the caller's."""
    if isinstance(images, (str, os.PathLike)):
        if ids is not None:
            raise ValueError("ids are given by the folder or list; pass them only with an array")
        return str(images), lambda i: i
    if isinstance(images, np.ndarray):
        return _write_array(images, ids, tmp)
    paths = [Path(p) for p in images]
    names = [p.name for p in paths] if ids is None else [str(i) for i in ids]
    if len(names) != len(paths):
        raise ValueError(f"ids: expected {len(paths)}, got {len(names)}")
    # Paths relative to the list's folder: amva takes each as written for the image's id.
    rel = [os.path.relpath(p.resolve(), tmp) for p in paths]
    listed = os.path.join(tmp, "images.csv")
    with open(listed, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path"])
        w.writerows([r] for r in rel)
    by_id = dict(zip(rel, names))
    return listed, lambda i: by_id.get(i, i)


def _write_array(images: np.ndarray, ids: Optional[Sequence[str]], tmp: str):
    """Writes a uint8 N x H x W x 3 array as lossless PPM files, one per image."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(
            f"images: expected a uint8 array N x H x W x 3 (RGB), got {images.dtype} {images.shape}")
    n, h, w, _ = images.shape
    names = [str(k) for k in range(n)] if ids is None else [str(i) for i in ids]
    if len(names) != n or len(set(names)) != n:
        raise ValueError(f"ids: expected {n} distinct ids, got {len(names)} ({len(set(names))} distinct)")
    folder = os.path.join(tmp, "images")
    os.makedirs(folder)
    files = {}
    for k in range(n):
        file = f"{k:07d}.ppm"
        with open(os.path.join(folder, file), "wb") as f:
            f.write(b"P6\n%d %d\n255\n" % (w, h))
            f.write(np.ascontiguousarray(images[k]).tobytes())
        files[file] = names[k]
    return folder, lambda i: files.get(i, i)


def _map_store(maps, tmp: str) -> str:
    """A store folder for ``maps``: the folder itself, or one written from an array."""
    if isinstance(maps, (str, os.PathLike)):
        return str(maps)
    ids, values = maps
    values = np.ascontiguousarray(values, dtype="<f4")
    if values.ndim != 3 or values.shape[0] != len(ids):
        raise ValueError(f"maps: expected (ids, N x H x W array) with N = {len(ids)}, got {values.shape}")
    store = os.path.join(tmp, "maps")
    _native.write_map_store(store, [str(i) for i in ids], values.tobytes(), tuple(values.shape[1:]))
    return store


def _score_files(scores, tmp: str) -> List[str]:
    """Score files for ``scores``: given files, or one written from a mapping."""
    if isinstance(scores, (str, os.PathLike)):
        return [str(scores)]
    if not isinstance(scores, Mapping):
        return [str(s) for s in scores]
    path = os.path.join(tmp, "scores.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "method", "score"])
        for method, table in scores.items():
            for image, score in table.items():
                w.writerow([image, method, repr(float(score))])
    return [path]


def _cli() -> None:
    """The ``amva`` command installed by pip: the same program as the Rust binary."""
    sys.exit(_native.cli(["amva"] + sys.argv[1:]))
