"""Peak memory per pixel of one untiled evaluation, the figures `--max-memory` plans tiles with.

`nst_engine/memory.py` plans a tile from a straight line: a fixed base (TensorFlow, the weights)
plus so many bytes per pixel of the image being optimised. This script measures that line for each
optimiser and gradient kernel: it runs the CLI untiled at each working size, takes the child's own
peak RSS from wait4, and prints the bytes per pixel above `memory.BASE_BYTES` beside the figure the
plan uses on this machine, with the margin between them (negative: the plan would overrun).

    .venv/bin/python benchmarks/memory_per_pixel.py                           # the presets, 256-1024 px
    .venv/bin/python benchmarks/memory_per_pixel.py --sizes 1536 --runs balanced tutorial:flipped

A run is PRESET or PRESET:GRADIENT (GRADIENT: auto, tensorflow, flipped; default: the preset's own).
Each runs `--iterations 22` in float32, past the presets' 20-pair L-BFGS history, so the state an
optimiser keeps is at its full size.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from speed_vs_tutorial import child_peak_rss  # noqa: E402

from nst_engine import conv_gradient, cpu, memory, tensorflow_env, weights  # noqa: E402
from nst_engine.images import load_image, scaled_size  # noqa: E402
from nst_engine.settings import PRESETS  # noqa: E402

EXAMPLES = ROOT / "examples"
CONTENT = EXAMPLES / "tubingen.jpg"
MIB = memory.MIB
EVALUATIONS = 22


def parse_run(text: str) -> tuple[str, str]:
    """'balanced' -> ('balanced', its preset's gradient); 'tutorial:flipped' -> ('tutorial', 'flipped')."""
    name, _, gradient = text.partition(":")
    if name not in PRESETS:
        raise argparse.ArgumentTypeError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")
    gradient = gradient or PRESETS[name].conv_gradient
    if gradient not in conv_gradient.CHOICES:
        raise argparse.ArgumentTypeError(
            f"unknown gradient {gradient!r}: use one of {', '.join(conv_gradient.CHOICES)}"
        )
    return name, gradient


def untiled_command(
    name: str,
    size: int,
    gradient: str,
    iterations: int,
    weights_path: Path,
    folder: str,
    progress: str = "none",
    precision: str = "float32",
) -> list[str]:
    """The CLI run whose memory the plan's figures stand for: one untiled image, float32 unless asked."""
    command = [sys.executable, "-m", "nst_engine", "run", "--preset", name, "--max-size", str(size)]
    command += ["--conv-gradient", gradient, "--precision", precision, "--iterations", str(iterations)]
    command += ["--content", str(CONTENT), "--style", str(EXAMPLES / "starry_night.jpg")]
    command += ["--max-memory", "1T", "--output", str(Path(folder) / "o.png"), "--progress", progress]
    return command + ["--weights", str(weights_path)]


def measure(size: int, name: str, gradient: str, weights_path: Path, folder: str) -> tuple[int, int, int]:
    """(exit code, peak RSS in bytes, pixels optimised) of one untiled CLI run."""
    code, peak = child_peak_rss(untiled_command(name, size, gradient, EVALUATIONS, weights_path, folder))
    width, height = scaled_size(load_image(CONTENT, "content").size, size)  # as the engine sizes it
    return code, peak, width * height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="working sizes, px")
    parser.add_argument(
        "--runs", type=parse_run, nargs="+", default=[parse_run(name) for name in ("preview", "balanced", "tutorial")]
    )
    parser.add_argument("--weights", type=Path, help="VGG19 weights (default: where the engine finds them)")
    args = parser.parse_args()
    weights_path = weights.locate(args.weights)
    machine = platform.processor() or platform.machine()
    allocator = tensorflow_env.allocator()  # what each engine run starts with
    print(f"# {machine}, oneDNN: {cpu.onednn_enabled()}, allocator: {allocator}, base {memory.BASE_BYTES // MIB} MiB")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            for name, gradient in args.runs:
                code, peak, pixels = measure(size, name, gradient, weights_path, folder)
                optimizer = PRESETS[name].optimizer
                measured = (peak - memory.BASE_BYTES) / pixels
                planned = memory.evaluation_bytes_per_pixel(optimizer, gradient)
                rows.append((size, pixels, name, optimizer, gradient, code, peak, measured, planned))
                print(f"{name} ({optimizer}, {gradient}) at {size} px: {peak / MIB:.0f} MiB (exit {code})", flush=True)
    print("\n| size | pixels | preset | optimiser | gradient | peak RSS | bytes/pixel above base | planned | margin |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, pixels, name, optimizer, gradient, code, peak, measured, planned in rows:
        note = "" if code == 0 else f" (exit {code})"
        margin = f"{planned / measured - 1:+.0%}" if measured > 0 else "the peak is under the base"
        print(
            f"| {size} | {pixels // 1000} k | {name} | {optimizer} | {gradient} | {peak / MIB:.0f} MiB{note} "
            f"| {measured:.0f} | {planned} | {margin} |"
        )


if __name__ == "__main__":
    main()
