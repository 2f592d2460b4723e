#!/usr/bin/env python3
"""Writes the hand-made seed corpus of every fuzz target into corpus/<target>/seed-*.

Real files (faces from ../shared, fixtures of the repo) and edge cases. Run from
fuzz/: `python3 make_seeds.py` (standard library only). The fuzzer adds its own
finds beside these; `cargo fuzz cmin` keeps the corpus small.
"""
import glob, json, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(REPO, "..", "shared")
SEP = b"\n%%%%\n"  # entry.rs SEPARATOR


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def read(*p):
    with open(os.path.join(*p), "rb") as f:
        return f.read()


def png(w, h, rows=None, colour=2, depth=8, idat=True):
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
    if idat:
        ch = {0: 1, 2: 3, 6: 4}[colour]
        raw = rows if rows is not None else b"".join(b"\0" + bytes((x * 7 + y) % 256 for x in range(w * ch)) for y in range(h))
        out += chunk(b"IDAT", zlib.compress(raw))
    return out + chunk(b"IEND", b"")


def images():
    faces = os.path.join(SHARED, "faces")
    lfw = os.path.join(faces, "lfw-dev", "aligned112")
    for rel in ["Jean_Charest/Jean_Charest_0009.jpg", "Ciro_Gomes/Ciro_Gomes_0004.jpg"]:
        put("image", os.path.basename(rel), read(lfw, rel))
    jpg = read(lfw, "Elizabeth_Dole/Elizabeth_Dole_0003.jpg")
    put("image", "truncated-half.jpg", jpg[: len(jpg) // 2])
    put("image", "no-eoi.jpg", jpg[:-2])
    put("image", "header-only.jpg", jpg[:600])
    crops = os.path.join(REPO, "crates", "amva-align", "fixtures", "cv2_crops")
    put("image", "crop112.png", read(crops, "Aaron_Peirsol_0001_112.png"))
    put("image", "rgb-8x6.png", png(8, 6))
    put("image", "grey-112.png", png(112, 112, colour=0))
    put("image", "rgba-3x3.png", png(3, 3, colour=6))
    put("image", "bomb-12000.png", png(12000, 12000, idat=False))
    put("image", "zero-width.png", png(0, 5, idat=False))
    put("image", "p5-grey.pgm", b"P5\n4 3\n255\n" + bytes(range(0, 240, 20)))
    put("image", "p6-huge.ppm", b"P6\n100000 100000\n255\n\0\0\0")
    put("image", "p3-text.ppm", b"P3\n2 1\n255\n255 0 0 0 255 0\n")
    bmp_px = bytes([0, 0, 255, 0, 255, 0, 0, 0]) * 2
    put("image", "2x2.bmp", b"BM" + struct.pack("<IHHI", 54 + len(bmp_px), 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, len(bmp_px), 2835, 2835, 0, 0) + bmp_px)
    put("image", "not-an-image.jpg", b"hello, I am text\n")
    put("image", "empty.jpg", b"")


def scores():
    side = json.dumps({"methods": {"magface": {"direction": "higher", "params": {}},
                                   "brisque": {"direction": "lower"}}})
    put("scores", "long-with-sidecar", "image,method,score\na/1.jpg,magface,23.5\nb/2.jpg,magface,21\na/1.jpg,brisque,40.2\n".encode() + SEP + side.encode())
    put("scores", "two-columns", "image,score\nx.jpg,0.5\ny.jpg,-1e3\n")
    put("scores", "tsv", "file\tquality\nx.jpg\t1\ny.jpg\t2\n")
    put("scores", "other-names", "name,value2\nx.jpg,3\n")
    put("scores", "no-header", "x.jpg,0.5\ny.jpg,0.7\n")
    put("scores", "nan", "image,score\nx.jpg,NaN\ny.jpg,inf\n")
    put("scores", "duplicate", "image,score\nx.jpg,1\nx.jpg,2\n")
    put("scores", "short-row", "image,method,score\nx.jpg,m\n")
    put("scores", "empty", "")
    put("scores", "bad-sidecar", b"image,score\nx.jpg,1\n" + SEP + b'{"direction": 3, "methods": []}')
    put("scores", "sidecar-direction", b"image,score\nx.jpg,1\n" + SEP + b'{"direction": "lower"}')


def landmarks():
    idx = read(SHARED, "faces", "lfw-dev", "index.csv").decode().splitlines()
    put("landmarks", "lfw-index", "\n".join(idx[:4]) + "\n")
    put("landmarks", "columns", "image,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5\na.jpg,38.3,51.7,73.5,51.5,56,71.7,41.5,92.4,70.7,92.2\n")
    put("landmarks", "no-header", "a.jpg,38.3,51.7,73.5,51.5,56,71.7,41.5,92.4,70.7,92.2\nb.jpg,1,2,3,4,5,6,7,8,9,10\n")
    put("landmarks", "packed-no-header", "a.jpg,38.3 51.7 73.5 51.5 56 71.7 41.5 92.4 70.7 92.2\n")
    put("landmarks", "tsv", "image\tlandmarks\na.jpg\t1 2 3 4 5 6 7 8 9 10\n")
    put("landmarks", "missing", "image,landmarks\na.jpg,\nb.jpg,NaN 2 3 4 5 6 7 8 9 10\nc.jpg,1 2 3\n")
    put("landmarks", "duplicate", "a.jpg,1,2,3,4,5,6,7,8,9,10\na.jpg,1,2,3,4,5,6,7,8,9,10\n")
    put("landmarks", "short-header", "image,x1,y1\na.jpg,1,2\n")
    put("landmarks", "empty", "")


def pairs():
    lfw = os.path.join(SHARED, "faces", "lfw-dev")
    for name in ["pairs_generated.tsv", "pairs_official_view1_subset.tsv"]:
        put("pairs", name, b"\n".join(read(lfw, name).splitlines()[:6]) + b"\n")
    put("pairs", "csv-bools", "img_a,img_b,label\na/1.jpg,b/2.jpg,true\na/1.jpg,a/3.jpg,False\n")
    put("pairs", "self-pair", "a,b,label\nx.jpg,x.jpg,1\n")
    put("pairs", "bad-label", "a,b,label\nx.jpg,y.jpg,2\n")
    put("pairs", "two-columns", "a,b\nx.jpg,y.jpg\n")
    put("pairs", "empty-id", "a,b,label\n,y.jpg,0\n")
    put("pairs", "header-only", "a,b,label\n")
    put("pairs", "latin1", b"a,b,label\n\xe9.jpg,y.jpg,1\n")
    put("pairs", "empty", "")


def npy(shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d, " % d for d in shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack("<%df" % len(values), *values)


def meta(map_shape, full_shape, count, complete=True):
    spec = {"width": 112, "height": 112, "channel_order": "bgr", "mean": [127.0] * 3, "std": [128.0] * 3,
            "layout": "nchw", "embedding": "output", "target": "507", "serfiq_input": "662"}
    settings = {"amva_version": "0.1.0", "model_sha256": "0" * 64, "engine": "tract", "layer": "507",
                "method": "scorecam", "score": "baseline", "temperature": 1.0, "channels": "all", "batch": 1,
                "spec": spec, "image_count": count, "images_sha256": "0" * 64, "resize": False, "full": False,
                "part_size": 256, "map_shape": map_shape, "full_shape": full_shape}
    return json.dumps({"kind": "maps", "model": "fr_feature.onnx", "images": "faces", "settings": settings,
                       "shard": None, "complete": complete, "count": count, "failed": 0, "flat": 0,
                       "warnings": 0, "passes": 0}, indent=1).encode()


def store(name, m, index, data):
    put("map_store", name, m + SEP + index.encode() + SEP + data)


def map_stores():
    vals = [float((i * 37) % 11) - 3.0 for i in range(3 * 7 * 7)]
    idx3 = "row,image,flags\n0,a.jpg,\n1,b.jpg,flat\n2,c/d.jpg,\n"
    store("three-7x7", meta([7, 7], [112, 112], 3), idx3, npy([3, 7, 7], vals))
    store("full-shape-small", meta([2, 2], [3, 5], 1), "row,image,flags\n0,x.jpg,\n", npy([1, 2, 2], [1, 0, 0, 2]))
    store("flat", meta([2, 2], [4, 4], 1), "row,image,flags\n0,x.jpg,flat\n", npy([1, 2, 2], [0, 0, 0, 0]))
    store("nan", meta([1, 2], [2, 2], 1), "row,image,flags\n0,x.jpg,\n", npy([1, 1, 2], [float("nan"), 1]))
    store("incomplete", meta([7, 7], [112, 112], 3, complete=False), idx3, npy([3, 7, 7], vals))
    store("loose-meta", b'{"map_shape": [1, 1], "full_shape": [1, 1]}', "row,image\n0,x.jpg\n", npy([1, 1, 1], [5]))
    store("huge-full", meta([1, 1], [4000000000, 4000000000], 1), "row,image\n0,x.jpg\n", npy([1, 1, 1], [5]))
    store("huge-npy-shape", meta([7, 7], [112, 112], 1), "row,image\n0,x.jpg\n", npy([4611686018427387904, 7, 7], []))
    store("truncated-npy", meta([7, 7], [112, 112], 3), idx3, npy([3, 7, 7], vals)[:300])
    store("row-mismatch", meta([7, 7], [112, 112], 3), "row,image\n0,a\n5,b\n", npy([3, 7, 7], vals))
    store("duplicate-id", meta([1, 1], [2, 2], 2), "row,image\n0,a\n1,a\n", npy([2, 1, 1], [1, 2]))
    store("zero-shape", meta([0, 7], [112, 112], 1), "row,image\n0,a\n", npy([1, 0, 7], []))
    peer = os.path.join(REPO, "crates", "amva-maps", "tests", "fixtures", "peer_scorecam")
    store("peer-meta-only", read(peer, "meta.json"), "row,image\n0,a\n", npy([1, 1, 1], [1]))
    put("map_store", "empty", b"")


def settings():
    base = ('width = 112\nheight = 112\nchannel_order = "bgr"\nmean = [127.0, 127.0, 127.0]\n'
            'std = [128.0, 128.0, 128.0]\nlayout = "nchw"\nembedding = "output"\ntarget = "507"\nserfiq_input = "662"\n')
    put("model_settings", "default.toml", base)
    put("model_settings", "nhwc.toml", base.replace('"nchw"', '"nhwc"'))
    put("model_settings", "224.toml", base.replace("112", "224"))
    put("model_settings", "100000.toml", base.replace("112", "100000"))
    put("model_settings", "negative-std.toml", base.replace("std = [128.0", "std = [-1.0"))
    put("model_settings", "inf-mean.toml", base.replace("mean = [127.0", "mean = [inf"))
    put("model_settings", "unknown-key.toml", base + "colour = 1\n")
    put("model_settings", "missing-key.toml", base.replace('target = "507"\n', ""))
    put("model_settings", "rgb.toml", base.replace('"bgr"', '"rgb"').replace('serfiq_input = "662"\n', ""))
    put("model_settings", "default.json", json.dumps({"width": 112, "height": 112, "channel_order": "bgr",
        "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5], "layout": "nchw", "embedding": "fc1", "target": "stage4"}))
    put("model_settings", "bad.json", '{"width": -1}')
    put("model_settings", "empty.toml", "")


def tables():
    # The same bytes are an image list (path column) and a groups file (image,group).
    put("table", "groups", "image,group\na.jpg,x\nb.jpg,x\nc.jpg,y\nd.jpg,y\n")
    put("table", "tsv-three-columns", "path\timage\tgroup\np/1.jpg\ta.jpg\tx\np/2.jpg\tb.jpg\tx\n")
    put("table", "quoted-comma", 'image,group\n"a,1.jpg",x\nb.jpg,"x, y"\n')
    put("table", "blank-lines-crlf", "image,group\r\n\r\na.jpg,x\r\n,\r\n\r\nb.jpg,x\r\n")
    put("table", "unmatched-and-small", "image,group\na.jpg,x\na.jpg,y\nb.jpg,\nc.jpg,z\nq.jpg,x\n")
    put("table", "list-only", "file\nx/1.jpg\nx/2.jpg\n")
    put("table", "decimal-comma", "image,group\na.jpg,3,707\n")
    put("table", "short-row", "image,group\na.jpg,x\nb.jpg\n")
    put("table", "empty-path", "image,group\n,x\n")
    put("table", "unterminated-quote", 'image,group\n"a.jpg,x\nb.jpg,x\n')
    put("table", "latin1", b"image,group\n\xe9.jpg,x\n")
    put("table", "empty", "")


def exif_block(orientation, big=False):
    """A TIFF block with one IFD entry, the orientation (as the tests of images.rs)."""
    if big:
        return b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01" + struct.pack(">H", orientation) + b"\0" * 6
    return b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0" + struct.pack("<H", orientation) + b"\0" * 6


def tiff(w, h, orientation):
    """An uncompressed RGB TIFF, left half red, right half blue, with an orientation tag:
    a photo as a file, and read as an EXIF block it asks for the same orientation."""
    px = b"".join((b"\xfa\0\0" if x < w // 2 else b"\0\0\xfa") for _ in range(h) for x in range(w))
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, None), (274, 3, 1, orientation), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(px))]
    ifd_end = 8 + 2 + 12 * len(tags) + 4
    bits_at, data_at = ifd_end, ifd_end + 6
    out = b"II*\0" + struct.pack("<IH", 8, len(tags))
    for tag, kind, count, value in tags:
        value = {258: bits_at, 273: data_at}.get(tag, value)
        out += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value))
    return out + struct.pack("<I", 0) + struct.pack("<HHH", 8, 8, 8) + px


def exifs():
    jpg = bytearray(read(SHARED, "faces", "lfw-dev", "aligned112", "George_Pataki", "George_Pataki_0002.jpg"))
    sof = jpg.index(b"\xff\xc0")
    jpg[sof + 5:sof + 7] = struct.pack(">H", 64)  # 112 x 64: not square, so turning shows
    jpg = bytes(jpg)
    def app1(block):
        body = b"Exif\0\0" + block
        return jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpg[2:]
    for o in (1, 3, 6, 8):
        put("exif", "jpeg-orientation-%d.jpg" % o, app1(exif_block(o)))
    put("exif", "jpeg-orientation-6-big-endian.jpg", app1(exif_block(6, big=True)))
    put("exif", "jpeg-garbage-exif.jpg", app1(b"II*\0\xff\xff\xff\x7f garbage"))
    put("exif", "jpeg-orientation-9.jpg", app1(exif_block(9)))
    put("exif", "jpeg-cut-in-exif.jpg", app1(exif_block(6))[:20])
    rgb = png(8, 6)
    put("exif", "png-orientation-6.png", rgb[:33] + struct.pack(">I", 26) + b"eXIf" + exif_block(6)
        + struct.pack(">I", zlib.crc32(b"eXIf" + exif_block(6))) + rgb[33:])
    for o in (1, 6, 7):
        put("exif", "tiff-6x2-orientation-%d.tif" % o, tiff(6, 2, o))
    put("exif", "block-orientation-5", exif_block(5))
    put("exif", "block-orientation-8-big-endian", exif_block(8, big=True))
    put("exif", "block-truncated", exif_block(6)[:12])
    put("exif", "block-ifd-out-of-range", b"MM\0*\xff\xff\xff\xf0")


if __name__ == "__main__":
    for old in glob.glob(os.path.join(HERE, "corpus", "*", "seed-*")):
        os.remove(old)
    for f in (images, scores, pairs, landmarks, map_stores, settings, tables, exifs):
        f()
