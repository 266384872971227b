"""Time and peak memory against canvas size for full-resolution runs (issue: painters' canvases).

For each size, the bundled content photo is enlarged to that longest side and the engine CLI runs
the default preset with `--full-resolution`, exactly as the plugin would start it. The child's own
peak RSS comes from wait4; wall time, stages, tiles and evaluations from its JSON events. The
table shows how cost grows with pixels, whether the peak stayed under `--max-memory`, and how far
the engine's ETA (elapsed + eta, at 10, 50 and 90 % of the evaluations) was from the real total.

    .venv/bin/python benchmarks/size_scaling.py                      # 1024, 2048, 4096 px
    .venv/bin/python benchmarks/size_scaling.py --sizes 1024 --max-memory 3G --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nst_engine import memory  # noqa: E402
from nst_engine.settings import DEFAULT_PRESET  # noqa: E402

EXAMPLES = ROOT / "examples"
GIB = 1024**3


def enlarged_content(size: int, folder: Path) -> Path:
    """The content photo with its longest side at `size` (Lanczos; larger than the original)."""
    image = Image.open(EXAMPLES / "tubingen.jpg").convert("RGB")
    scale = size / max(image.size)
    path = folder / f"tubingen_{size}.png"
    image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS).save(path)
    return path


def run_one(size: int, args: argparse.Namespace, folder: Path) -> dict:
    content = enlarged_content(size, folder)
    command = [
        sys.executable, "-m", "nst_engine", "run", "--content", str(content),
        "--style", str(EXAMPLES / f"{args.style}.jpg"), "--output", str(folder / f"out_{size}.png"),
        "--preset", args.preset, "--full-resolution", "--progress", "json",
    ]  # fmt: skip
    if args.max_memory:
        command += ["--max-memory", args.max_memory]
    if args.precision:
        command += ["--precision", args.precision]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events = [json.loads(line) for line in process.stdout]
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    start = next(e for e in events if e["event"] == "start")
    last = events[-1]
    if last["event"] != "done":
        raise SystemExit(f"{size} px: the engine failed: {last}")
    progress = [e for e in events if e["event"] == "progress"]
    total = last["seconds"]
    eta_error = {}
    for fraction in (0.1, 0.5, 0.9):
        event = progress[min(len(progress) - 1, int(fraction * len(progress)))]
        eta_error[f"{fraction:.0%}"] = round((event["elapsed"] + event["eta"]) / total - 1, 3)
    return {
        "size": size,
        "eta_error": eta_error,
        "content": start["content_size"],
        "megapixels": start["content_size"][0] * start["content_size"][1] / 1e6,
        "stages": start["stage_sizes"],
        "tiles": start["stage_tiles"],
        "evaluations": start["iterations"],
        "seconds": seconds,
        "peak_rss": usage.ru_maxrss * 1024,
        "max_memory": start["max_memory"],
        "precision": start["precision"],
        "exit": os.waitstatus_to_exitcode(status),
    }


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'size':>6} {'canvas':>11} {'MP':>6} {'tiles per stage':>18} {'evals':>6} {'time':>9} {'s/MP':>7} "
          f"{'peak RSS':>9} {'ceiling':>8} {'under':>5}  ETA error at 10/50/90 %")  # fmt: skip
    for row in rows:
        canvas = "x".join(map(str, row["content"]))
        tiles = ",".join(map(str, row["tiles"]))
        print(
            f"{row['size']:>6} {canvas:>11} {row['megapixels']:>6.1f} {tiles:>18} {row['evaluations']:>6} "
            f"{row['seconds'] / 60:>7.1f} m {row['seconds'] / row['megapixels']:>7.0f} "
            f"{row['peak_rss'] / GIB:>7.2f} G {row['max_memory'] / GIB:>6.2f} G "
            f"{'yes' if row['peak_rss'] <= row['max_memory'] else 'NO':>5}  "
            + " / ".join(f"{e:+.0%}" for e in row.get("eta_error", {}).values())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1024,2048,4096", help="longest sides, comma-separated")
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--max-memory", help=f"passed on (engine default here: {memory.default_budget() / GIB:.1f}G)")
    parser.add_argument("--precision", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--keep", type=Path, help="keep the inputs and results in this folder")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{(memory.physical_memory() or 0) / GIB:.0f} GiB RAM; preset {args.preset} + --full-resolution")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for size in (int(s) for s in args.sizes.split(",")):
            row = run_one(size, args, folder)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print_table(rows)


if __name__ == "__main__":
    main()
