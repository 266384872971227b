"""Count isolated bright specks in images (a measurement for docs/performance.md, not a test).

    .venv/bin/python benchmarks/bright_specks.py result.png examples/starry_night.jpg

A speck is a pixel that is the brightest of its 3×3 neighbourhood and more than 70 grey levels
above the median of its 7×7 one. Reported per megapixel, so images of different sizes compare.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

ABOVE_MEDIAN = 70.0


def specks_per_megapixel(path: Path) -> float:
    grey = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    height, width = grey.shape
    median = np.median(sliding_window_view(np.pad(grey, 3, mode="edge"), (7, 7)), axis=(2, 3))
    brightest = sliding_window_view(np.pad(grey, 1, mode="edge"), (3, 3)).max(axis=(2, 3))
    specks = (grey - median > ABOVE_MEDIAN) & (grey >= brightest)
    return float(specks.sum()) / (height * width) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path)
    for path in parser.parse_args().images:
        print(f"{path}: {specks_per_megapixel(path):.0f} specks per megapixel")


if __name__ == "__main__":
    main()
