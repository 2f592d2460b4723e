"""Reference colours for amva-report's colour maps, produced by matplotlib itself.

Run (from this directory), in a venv with matplotlib 3.10:
    python3 -m venv .venv-colormap
    .venv-colormap/bin/pip install 'matplotlib==3.10.*'
    .venv-colormap/bin/python colormap_reference.py

Writes:
  jet_matplotlib.txt      256 lines "r g b": matplotlib.colormaps['jet'](i / 255, bytes=True)
  viridis_matplotlib.txt  the same for 'viridis'
  RdBu_r_matplotlib.txt   the same for 'RdBu_r' (the diverging map of differences)
  jet_samples.txt         lines "v r g b" for float32 inputs v, including out-of-range ones,
                          as cmap(np.float32(v), bytes=True) returns them.
The Rust tests compare the crate's colour maps to these files.
"""
import matplotlib
import numpy as np

assert matplotlib.__version__.startswith("3.10"), matplotlib.__version__

for name in ("jet", "viridis", "RdBu_r"):
    cmap = matplotlib.colormaps[name]
    lut = cmap(np.arange(256) / 255.0, bytes=True)[:, :3]
    with open(f"{name}_matplotlib.txt", "w") as f:
        f.write(f"# matplotlib {matplotlib.__version__} colormaps['{name}'](i/255, bytes=True), i = 0..255\n")
        for r, g, b in lut:
            f.write(f"{r} {g} {b}\n")

samples = np.array(
    [-1.0, -0.001, 0.0, 0.001, 0.05, 0.1, 0.11, 0.125, 0.2, 0.25, 0.3, 0.34, 0.35, 0.375,
     0.4, 0.45, 0.5, 0.55, 0.6, 0.64, 0.65, 0.66, 0.7, 0.75, 0.8, 0.89, 0.9, 0.91,
     0.95, 0.99, 0.999, 1.0, 1.001, 2.0, 0.123456, 0.654321, 0.333333, 0.996094],
    dtype=np.float32,
)
jet = matplotlib.colormaps["jet"]
rgb = jet(samples, bytes=True)[:, :3]
with open("jet_samples.txt", "w") as f:
    f.write(f"# matplotlib {matplotlib.__version__} colormaps['jet'](np.float32(v), bytes=True)\n")
    for v, (r, g, b) in zip(samples, rgb):
        f.write(f"{float(v)!r} {r} {g} {b}\n")
