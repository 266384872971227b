"""What a warm engine saves a painter: a fresh `run` against `standby` plus its job, side by side.

    .venv/bin/python benchmarks/warm_engine.py [--rounds 4] [--preset preview] [--pause 2]
        [--preview-every 5]

Each round starts a fresh `nst-engine run` and times, from the moment it is started, its first
preview image and its end. Then it starts `nst-engine standby`, waits for `ready` and `--pause`
seconds more (the painter is still choosing), sends the same run as its job line and times the
same two moments from the moment the job is sent. That is what the dialog does: the engine loads
while the painter chooses. The two kinds alternate so that a busy machine hurts both alike. The
run is the plugin's: bundled tubingen + starry_night, a preview every 5 evaluations (what the
plugin asks for with Quick preview; 10 with the other presets).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _engine(*args: str) -> subprocess.Popen:
    """The engine as the plugin starts it: stdin a pipe that stays open, JSON lines on stdout."""
    return subprocess.Popen(
        [sys.executable, "-m", "nst_engine", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )


def _follow(process: subprocess.Popen, since: float) -> dict[str, float]:
    """Seconds from `since` to the first preview and to the end; fails loudly on an engine error."""
    times: dict[str, float] = {}
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "preview" and "first_preview" not in times:
            times["first_preview"] = time.monotonic() - since
        elif event["event"] == "done":
            times["done"] = time.monotonic() - since
        elif event["event"] == "error":
            raise SystemExit(f"engine error: {event['message']}")
    process.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--preset", default="preview")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between `ready` and the job")
    parser.add_argument("--preview-every", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"fresh run": [], "warm engine": []}
    idle_rss = []
    with tempfile.TemporaryDirectory() as folder:
        job = [
            "--content", str(EXAMPLES / "tubingen.jpg"), "--style", str(EXAMPLES / "starry_night.jpg"),
            "--output", str(Path(folder) / "out.png"), "--preset", args.preset,
            "--preview-every", str(args.preview_every), "--preview-path", str(Path(folder) / "preview.png"),
        ]  # fmt: skip
        for round_number in range(1, args.rounds + 1):
            since = time.monotonic()
            results["fresh run"].append(_follow(_engine("run", *job, "--progress", "json"), since))

            warm = _engine("standby")
            ready = json.loads(warm.stdout.readline())
            if ready["event"] != "ready":
                raise SystemExit(f"standby did not get ready: {ready}")
            time.sleep(args.pause)
            idle_rss.append(_rss_mib(warm.pid))
            since = time.monotonic()
            warm.stdin.write(json.dumps(job) + "\n")
            warm.stdin.flush()
            results["warm engine"].append(_follow(warm, since))
            print(f"round {round_number}: " + ", ".join(f"{k} {v[-1]}" for k, v in results.items()), flush=True)

    print(
        f"\n`{args.preset}` preset, a preview every {args.preview_every} evaluations, {args.rounds} rounds; "
        "seconds from the request:"
    )
    print("| engine | first preview, median (range) | finished, median (range) |")
    print("| --- | --- | --- |")
    for kind, rounds in results.items():
        cells = []
        for moment in ("first_preview", "done"):
            values = [r[moment] for r in rounds if moment in r]
            cells.append(f"{statistics.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})" if values else "—")
        print(f"| {kind} | {cells[0]} | {cells[1]} |")
    print(f"\nA waiting standby holds {statistics.median(idle_rss):.0f} MiB (RSS, median).")


if __name__ == "__main__":
    main()
