"""Writes a flat-coloured style image, for measuring the presets on a kind of style the bundled
paintings lack (posters, cel shading, hard-edged abstraction).

    .venv/bin/python benchmarks/flat_colour_style.py /tmp/flat_colour.png
    .venv/bin/python benchmarks/speed_vs_tutorial.py --pair tubingen /tmp/flat_colour.png --no-memory

The bundled styles (The Starry Night, The Scream) are brush textures everywhere. The presets' settings
(the L-BFGS first Hessian guess's blur levels, the evaluation count) were chosen on them. A style made
of a few large flat fields and hard black lines asks the optimiser for the opposite: big uniform
changes of colour and sharp straight edges. The image is generated, not a painting, so it can be
shipped and reproduced: the same seed always gives the same picture.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from PIL import Image, ImageDraw

# Red, yellow, blue, and off-white three times, so that about half the fields are white.
PALETTE = [(221, 33, 38), (248, 206, 38), (32, 74, 158), (242, 240, 232), (242, 240, 232), (242, 240, 232)]
LINE = (24, 22, 24)


def split(box: tuple[int, int, int, int], depth: int, rng: random.Random, out: list) -> None:
    """Cuts `box` (left, top, right, bottom) in two along its longer side, recursively."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    if depth == 0 or max(width, height) < 120 or (depth < 3 and rng.random() < 0.3):
        out.append(box)
        return
    if width >= height:
        cut = left + int(width * rng.uniform(0.3, 0.7))
        split((left, top, cut, bottom), depth - 1, rng, out)
        split((cut, top, right, bottom), depth - 1, rng, out)
    else:
        cut = top + int(height * rng.uniform(0.3, 0.7))
        split((left, top, right, cut), depth - 1, rng, out)
        split((left, cut, right, bottom), depth - 1, rng, out)


def flat_colour_style(width: int = 1024, height: int = 768, seed: int = 7) -> Image.Image:
    """Rectangles of a few flat colours between thick black lines."""
    rng = random.Random(seed)
    boxes: list[tuple[int, int, int, int]] = []
    split((0, 0, width, height), 6, rng, boxes)
    image = Image.new("RGB", (width, height), LINE)
    draw = ImageDraw.Draw(image)
    line = max(4, width // 90)
    for left, top, right, bottom in boxes:
        draw.rectangle(
            (left + line // 2, top + line // 2, right - line // 2 - 1, bottom - line // 2 - 1), rng.choice(PALETTE)
        )
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write the image (.png)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    flat_colour_style(seed=args.seed).save(args.output)
    print(args.output)


if __name__ == "__main__":
    main()
