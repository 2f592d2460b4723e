"""amva's Python API against the `amva` command on the same real faces (../shared).

Each function must return what the installed command writes (maps and embeddings
within 1e-5; embeddings from a uint8 array within 1e-4), array input what path input
gives, and errors must raise amva.AmvaError with amva's message. Without ../shared the
tests skip, except under AMVA_REQUIRE_DATA=1 (CI), where that is a failure.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import amva

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("AMVA_SHARED", REPO.parent / "shared"))
LFW = SHARED / "faces" / "lfw-dev" / "aligned112"
MODEL = SHARED / "models" / "fr_feature.onnx"


def _need_data():
    if LFW.is_dir() and MODEL.is_file():
        return
    reason = f"{LFW} or {MODEL} not found (the shared faces and models are absent)"
    if os.environ.get("AMVA_REQUIRE_DATA") == "1":
        pytest.fail(f"AMVA_REQUIRE_DATA=1, so this test may not skip: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Twelve real faces (twelve people) in one flat folder."""
    _need_data()
    folder = tmp_path_factory.mktemp("faces")
    people = sorted(p for p in LFW.iterdir() if p.is_dir())[:12]
    for person in people:
        first = sorted(person.iterdir())[0]
        shutil.copy(first, folder / first.name)
    return folder


def amva_command(*args, cwd=None):
    """The installed `amva` command (the console script beside this Python)."""
    exe = Path(sys.executable).with_name("amva")
    env = dict(os.environ, AMVA_MODELS=str(SHARED / "models"))
    done = subprocess.run([str(exe), "--quiet", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


def index_ids(path):
    with open(path, newline="") as f:
        return [row["image"] for row in csv.DictReader(f)]


@pytest.fixture(autouse=True)
def models_env(monkeypatch):
    monkeypatch.setenv("AMVA_MODELS", str(SHARED / "models"))


def test_the_installed_command_runs():
    done = amva_command("--version")
    assert done.stdout.startswith("amva ")


def test_embed_equals_the_command_and_an_array_equals_the_files(faces, tmp_path):
    amva_command("embed", "--images", faces, "--out", tmp_path / "e")
    want = np.load(tmp_path / "e" / "embeddings.npy")
    want_ids = index_ids(tmp_path / "e" / "index.csv")
    ids, got = amva.embed(faces)
    assert ids == want_ids and got.shape == want.shape == (12, 512)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    pixels = amva.read_images([faces / i for i in ids])
    assert pixels.dtype == np.uint8 and pixels.shape == (12, 112, 112, 3)
    names = [f"face{k}" for k in range(len(ids))]
    array_ids, from_array = amva.embed(pixels, ids=names)
    assert array_ids == names
    np.testing.assert_allclose(from_array, want, atol=1e-4, rtol=0)
    list_ids, from_list = amva.embed([faces / i for i in ids])
    assert sorted(list_ids) == sorted(ids)
    order = [list_ids.index(i) for i in ids]
    np.testing.assert_allclose(from_list[order], want, atol=1e-5, rtol=0)


def test_ablation_maps_equal_the_command_and_an_array_equals_the_files(faces, tmp_path):
    few = tmp_path / "few"
    few.mkdir()
    for f in sorted(faces.iterdir())[:3]:
        shutil.copy(f, few / f.name)
    amva_command("maps", "--images", few, "--method", "ablation", "--full", "--out", tmp_path / "m")
    want = np.load(tmp_path / "m" / "maps_full.npy")
    ids, got = amva.maps(few, method="ablation")
    assert ids == index_ids(tmp_path / "m" / "index.csv")
    assert got.shape == want.shape == (3, 112, 112)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    low_ids, low = amva.maps(few, method="ablation", low_res=True)
    np.testing.assert_allclose(low, np.load(tmp_path / "m" / "maps.npy"), atol=1e-5, rtol=0)
    pixels = amva.read_images([few / i for i in ids])
    _, from_array = amva.maps(pixels, method="ablation", ids=ids)
    np.testing.assert_allclose(from_array, want, atol=1e-5, rtol=0)


def test_quality_equals_the_command_with_nan_for_a_failed_image(faces, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(faces, mixed)
    (mixed / "broken.jpg").write_bytes(b"not a jpeg")
    amva_command("quality", "--fiqa", "magnitude", "--images", mixed, "--out", tmp_path / "q.csv")
    with open(tmp_path / "q.csv", newline="") as f:
        want = {r["image"]: float(r["score"]) for r in csv.DictReader(f)}
    ids, table = amva.quality(mixed, methods=["magnitude"])
    assert set(ids) == set(want) | {"broken.jpg"}
    got = dict(zip(ids, table["magnitude"]))
    assert np.isnan(got.pop("broken.jpg"))
    assert got == pytest.approx(want, abs=1e-12)


def test_analyze_takes_arrays_and_a_score_mapping_and_returns_the_summary(faces, tmp_path):
    ids, maps = amva.maps(faces, method="activation")
    _, q = amva.quality(faces, methods=["magnitude"])
    mine = {i: -float(s) for i, s in zip(ids, q["magnitude"])}  # a user's own scores
    options = dict(high="top:4", low="bottom:4", permutations=200)
    summary = amva.analyze((ids, maps), {"mine": mine}, out=tmp_path / "a",
                           directions={"mine": "lower"}, **options)
    on_disk = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary == on_disk
    assert (tmp_path / "a" / "report.html").is_file()
    # The command on the same maps and scores, written as files, gives the same numbers.
    amva_command("maps", "--images", faces, "--method", "activation", "--full", "--out", tmp_path / "m")
    with open(tmp_path / "s.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "method", "score"])
        w.writerows([i, "mine", repr(s)] for i, s in mine.items())
    amva_command("analyze", "--maps", tmp_path / "m", "--full-maps", "--scores", tmp_path / "s.csv",
                 "--direction", "mine=lower", "--high", "top:4", "--low", "bottom:4",
                 "--permutations", "200", "--out", tmp_path / "cli")
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    got = summary["key_findings"]["methods"][0]
    want = cli["key_findings"]["methods"][0]
    assert got["verdict"] == want["verdict"]
    assert got["high"] == want["high"] == 4
    for key in ("outside_amv_high", "outside_amv_low", "difference", "p_value"):
        assert got[key] == pytest.approx(want[key], abs=1e-6), key


def test_errors_raise_amva_error_with_amvas_message(tmp_path):
    with pytest.raises(amva.AmvaError, match="nowhere"):
        amva.embed(tmp_path / "nowhere")
    with pytest.raises(amva.AmvaError, match="unknown quality method .no-such-method."):
        amva.quality(tmp_path, methods=["no-such-method"])
    with pytest.raises(ValueError, match="uint8"):
        amva.embed(np.zeros((2, 112, 112, 3), np.float32))
    with pytest.raises(amva.AmvaError, match="unexpected argument"):
        amva.command("maps", "--no-such-flag")


def test_compare_equals_the_command(faces, tmp_path):
    names = sorted(p.name for p in faces.iterdir())
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"img_a,img_b,label\n{names[0]},{names[1]},0\n{names[2]},{names[3]},0\n")
    amva_command("compare", "--pairs", pairs, "--images", faces, "--method", "swap-fast",
                 "--full", "--out", tmp_path / "c")
    got = amva.compare(pairs, faces, method="swap-fast", full=True)
    with open(tmp_path / "c" / "index.csv", newline="") as f:
        assert got["index"] == list(csv.DictReader(f))
    for name in ("similar", "dissimilar", "similar_full", "dissimilar_full"):
        want = np.load(tmp_path / "c" / f"{name}.npy")
        assert got[name].shape == want.shape and want.shape[:2] == (2, 2)
        np.testing.assert_allclose(got[name], want, atol=1e-5, rtol=0)
