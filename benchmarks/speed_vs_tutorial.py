"""How much faster the default preset reaches the `tutorial` preset's quality (a benchmark, not a test).

    .venv/bin/python benchmarks/speed_vs_tutorial.py            # full: both pairs at 512 px
    .venv/bin/python benchmarks/speed_vs_tutorial.py --quick    # one pair, 256 px, 300 tutorial steps
    .venv/bin/python benchmarks/speed_vs_tutorial.py --pair starry_night the_scream --no-memory  # another pair
    .venv/bin/python benchmarks/speed_vs_tutorial.py --memory-only --memory-sizes 1024 --memory-rounds 3  # memory

For each bundled content/style pair, in this one process: the `tutorial` preset runs and its
objective (the tutorial's total loss at the working size) is recorded against wall time after every
step; then the default preset runs (for each precision asked) and its final image is scored with
that same objective. Reported per pair: the default's time, the time the tutorial needed to first
reach a loss as low as the default's final one, their ratio (">=" marks a lower bound: the default
ended below anything the tutorial reached, so the tutorial's full time is used), both final losses,
and peak RSS. The preview preset's time to its first image and each preset's peak memory at 512
and 1024 px (in separate processes) come last. `--images DIR` also saves the tutorial's and each
preset's final image at the working size, to look at side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nst_engine import cpu, schedule, tensorflow_env, weights  # noqa: E402
from nst_engine import precision as precision_module  # noqa: E402
from nst_engine.images import RasterImage, load_image, resize, save_atomic, scaled_size  # noqa: E402
from nst_engine.settings import DEFAULT_PRESET, PRESETS  # noqa: E402

tensorflow_env.prepare()  # before TensorFlow loads, as the engine does

EXAMPLES = ROOT / "examples"
PAIRS = [("tubingen", "starry_night"), ("tubingen", "the_scream")]


def proc_status_bytes(field: str, pid: int | str = "self") -> int:
    """A memory figure of a process from /proc (Linux), in bytes: "VmRSS" now, "VmHWM" its peak so far."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status: this benchmark needs Linux")


class PeakRSS:
    """Samples this process's resident memory every 20 ms; `peak` is the highest seen since reset."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    @staticmethod
    def current() -> int:
        return proc_status_bytes("VmRSS")

    def reset(self) -> None:
        self.peak = self.current()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.current())


def example(name: str) -> Path:
    """An image named by its stem in examples/ ("the_scream"), or by its own path."""
    path = Path(name)
    return path if path.suffix else EXAMPLES / f"{name}.jpg"


def load_pair(content_name: str, style_name: str):
    content = load_image(example(content_name)).rgb
    style = load_image(example(style_name), "style").rgb
    return content, style


def tutorial_objective(extractor, content, style, size):
    from nst_engine.objective import Objective

    s = PRESETS["tutorial"]
    content_work = resize(content, scaled_size((content.shape[1], content.shape[0]), size))
    style_work = resize(style, scaled_size((style.shape[1], style.shape[0]), size))
    return Objective(extractor, content_work, [style_work], [1.0], s.content_weight, s.style_weight, s.tv_weight)


def tutorial_problem(style_name: str, size: int, content_name: str = "tubingen"):
    """(the tutorial's objective at `size`, float32, and the content image at that size): what
    the optimiser benchmarks minimise and where they start."""
    from nst_engine.objective import build_extractor

    content, style = load_pair(content_name, style_name)
    extractor = build_extractor(str(weights.locate()), "float32")
    start = resize(content, scaled_size((content.shape[1], content.shape[0]), size))
    return tutorial_objective(extractor, content, style, size), start


def run_tutorial(extractor, content, style, size, iterations, memory):
    """The tutorial preset, timed; returns [(seconds, loss)] per step, the time, the best image's
    loss, the peak RSS and the best image."""
    from nst_engine.optimizers import run_adam

    s = PRESETS["tutorial"]
    memory.reset()
    started = time.perf_counter()
    objective = tutorial_objective(extractor, content, style, size)
    curve: list[tuple[float, float]] = []
    start = resize(content, scaled_size((content.shape[1], content.shape[0]), size))
    record = lambda _i, terms, _c: curve.append((time.perf_counter() - started, terms.total))  # noqa: E731
    best = run_adam(objective, start, iterations, s.learning_rate, s.beta1, s.beta2, s.epsilon, record)
    seconds = time.perf_counter() - started
    final = objective.evaluate(best).total
    return curve, seconds, final, memory.peak, best


def run_preset(name, weights_path, content, style, size, precision, memory, extractors, device, on_step=None):
    """A preset through the engine's own multi-stage driver, with the precision and gradient kernel
    that the CLI would resolve; returns (seconds, best image, peak RSS, precision, gradient).
    `on_step` receives each evaluation's `transfer.Step`, as the CLI's reporter does."""
    from nst_engine import conv_gradient, transfer
    from nst_engine.objective import build_extractor

    settings = replace(PRESETS[name], max_size=size, precision=precision)
    dtype = precision_module.resolve(precision, device)
    gradient = conv_gradient.resolve(settings.conv_gradient, device)
    if (dtype, gradient) not in extractors:
        extractors[dtype, gradient] = build_extractor(str(weights_path), dtype, gradient)
    stages = schedule.plan((content.shape[1], content.shape[0]), [(style.shape[1], style.shape[0])], settings)
    memory.reset()
    started = time.perf_counter()
    image = transfer.stylize(extractors[dtype, gradient], content, [style], [1.0], settings, stages, on_step)
    return time.perf_counter() - started, image, memory.peak, dtype, gradient


def evaluations_to_reach(losses: list[float], target: float) -> int | None:
    """How many evaluations (1-based) a run of `losses` took to first reach `target`; None if never."""
    return next((n for n, loss in enumerate(losses, start=1) if loss <= target), None)


def time_to_reach(curve, target):
    for seconds, loss in curve:
        if loss <= target:
            return seconds
    return None


# Linux counts a child's resident memory from before its exec (the copy of this big process) in
# its ru_maxrss, so the child is started from a small helper that reports its peak.
_RSS_PROBE = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL); _, s, u = os.wait4(p.pid, 0); print(os.waitstatus_to_exitcode(s), u.ru_maxrss)"
)


def child_peak_rss(args: list[str]) -> tuple[int, int]:
    """Run a child process, return (exit code, its own peak RSS in bytes) from wait4."""
    probe = subprocess.run([sys.executable, "-c", _RSS_PROBE, *args], capture_output=True, text=True, check=True)
    code, peak_kib = probe.stdout.split()
    return int(code), int(peak_kib) * 1024


def memory_table(weights_path, sizes, presets, rounds: int = 1):
    """Peak RSS of each preset at each size, at its own precision and, where that is `auto`, also
    in float32 (what `auto` gives on hardware without native bfloat16). With several `rounds` the
    presets take turns, round after round, so that drift in the machine's state hits them alike."""
    rows = []
    runs = [(n, p) for n in presets for p in dict.fromkeys([PRESETS[n].precision, "float32"])]
    with tempfile.TemporaryDirectory() as folder:
        for size, _round in [(size, r) for size in sizes for r in range(rounds)]:
            for name, precision in runs:
                command = [sys.executable, "-m", "nst_engine", "run", "--preset", name, "--max-size", str(size)]
                command += ["--precision", precision]
                command += ["--content", str(EXAMPLES / "tubingen.jpg"), "--style", str(EXAMPLES / "starry_night.jpg")]
                command += [
                    "--output",
                    os.path.join(folder, "o.png"),
                    "--progress",
                    "none",
                    "--weights",
                    str(weights_path),
                ]
                # Past the longest L-BFGS history, the same count for every preset.
                command += ["--iterations", str(max(p.lbfgs_memory for p in PRESETS.values()) + 2)]
                code, peak = child_peak_rss(command)
                rows.append((size, name, precision, code, peak))
                print(f"memory: {name} {precision} at {size} px: {peak / 2**20:.0f} MiB (exit {code})", flush=True)
    return rows


def print_memory_table(rows) -> None:
    if rows:
        print("\n| size | preset | precision | peak RSS (whole process) |\n| --- | --- | --- | --- |")
        for size_px, name, precision, code, peak in rows:
            note = "" if code == 0 else f" (exit {code})"
            print(f"| {size_px} | {name} | {precision} | {peak / 2**20:.0f} MiB{note} |")


def preview_first_image(weights_path) -> tuple[float, float, float]:
    """Wall times of the CLI with the preview preset, from start (TensorFlow load included) to its
    first preview image (`--preview-every 5`, as the plugin asks for this preset), to the image
    after 10 evaluations (the interval it asked for before) and to the finished image."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "nst_engine", "run", "--preset", "preview", "--progress", "json"]
        command += ["--content", str(EXAMPLES / "tubingen.jpg"), "--style", str(EXAMPLES / "starry_night.jpg")]
        command += ["--output", os.path.join(folder, "p.png"), "--weights", str(weights_path)]
        command += ["--preview-every", "5"]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        previews = {}
        for line in process.stdout:
            event = json.loads(line)
            if event["event"] == "preview":
                previews.setdefault(event["iteration"], time.perf_counter() - started)
        if process.wait() != 0 or 5 not in previews or 10 not in previews:
            raise SystemExit("the preview run failed")
        return previews[5], previews[10], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pair, 256 px, 300 tutorial steps")
    parser.add_argument("--precisions", nargs="+", default=["float32", "auto"])
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="the preset to compare with the tutorial")
    memory_choice = parser.add_mutually_exclusive_group()
    memory_choice.add_argument("--no-memory", action="store_true", help="skip the 512/1024 px memory table")
    memory_choice.add_argument(
        "--memory-only", action="store_true", help="only the memory table (no pairs, no preview)"
    )
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=[512, 1024], help="working sizes, px")
    parser.add_argument("--memory-rounds", type=int, default=1, help="runs of each preset, taking turns")
    parser.add_argument("--memory-presets", nargs="+", choices=list(PRESETS), default=list(PRESETS))
    parser.add_argument("--pairs", type=int, default=len(PAIRS), help="how many content/style pairs (0: extras only)")
    parser.add_argument("--styles", nargs="+", help="only the pairs with these styles, e.g. the_scream")
    parser.add_argument(
        "--pair",
        nargs=2,
        action="append",
        metavar=("CONTENT", "STYLE"),
        help="benchmark this pair instead (repeatable): examples/ names, e.g. starry_night the_scream, or paths",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--images", type=Path, help="also save each run's image here, at the working size")
    args = parser.parse_args()

    from nst_engine import conv_gradient
    from nst_engine import device as device_module
    from nst_engine.objective import build_extractor

    weights_path = weights.locate()
    if args.memory_only:
        print_memory_table(memory_table(weights_path, args.memory_sizes, args.memory_presets, args.memory_rounds))
        return
    size, tutorial_steps = (256, 300) if args.quick else (512, 1000)
    pairs = PAIRS[: 1 if args.quick else args.pairs]
    if args.styles:
        known = {style for _, style in PAIRS}
        if unknown := set(args.styles) - known:
            parser.error(
                f"no bundled pair has the style {', '.join(sorted(unknown))}; choose from {', '.join(sorted(known))}"
            )
        pairs = [pair for pair in pairs if pair[1] in args.styles]
    if args.pair:
        if args.styles:
            parser.error("--pair chooses the pairs itself; leave out --styles")
        names = sorted(path.stem for path in EXAMPLES.glob("*.jpg"))
        if unknown := {name for pair in args.pair for name in pair if not example(name).is_file()}:
            parser.error(f"no image {', '.join(sorted(unknown))}; give a path or one of examples/: {', '.join(names)}")
        pairs = [tuple(pair) for pair in args.pair]
    if args.images:
        args.images.mkdir(parents=True, exist_ok=True)
    device = device_module.prepare()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, native bfloat16: {cpu.has_native_bfloat16()}, "
        f"oneDNN: {cpu.onednn_enabled()}, auto -> {precision_module.resolve('auto', device)}, "
        f"gradient kernel auto -> {conv_gradient.resolve('auto', device)}, device {device}",
        flush=True,
    )
    memory = PeakRSS()
    # The tutorial with TensorFlow's own gradient kernels, as the `tutorial` preset runs it.
    extractors = {("float32", "tensorflow"): build_extractor(str(weights_path), "float32")}
    tutorial_extractor = extractors["float32", "tensorflow"]
    results = []
    for content_name, style_name in pairs:
        content, style = load_pair(content_name, style_name)
        label = f"{Path(content_name).stem}+{Path(style_name).stem}"
        print(f"{label}: tutorial, {tutorial_steps} steps at {size} px ...", flush=True)
        curve, tutorial_seconds, tutorial_loss, tutorial_rss, tutorial_image = run_tutorial(
            tutorial_extractor, content, style, size, tutorial_steps, memory
        )
        if args.images:
            save_atomic(RasterImage(tutorial_image), args.images / f"{label}_tutorial.png")
        print(f"  {tutorial_seconds:.0f} s, final loss {tutorial_loss:.4g}", flush=True)
        objective = tutorial_objective(tutorial_extractor, content, style, size)
        for precision in args.precisions:
            seconds, image, rss, dtype, gradient = run_preset(
                args.preset, weights_path, content, style, size, precision, memory, extractors, device
            )
            loss = objective.evaluate(image).total
            if args.images:
                save_atomic(RasterImage(image), args.images / f"{label}_{args.preset}_{precision}.png")
            reached = time_to_reach(curve, loss)
            bound = reached is None
            ratio = (tutorial_seconds if bound else reached) / seconds
            row = {
                "pair": label,
                "precision": f"{precision} ({dtype}, {gradient} gradient)",
                "seconds": seconds,
                "tutorial_seconds_to_same_loss": reached,
                "tutorial_seconds": tutorial_seconds,
                "ratio": ratio,
                "lower_bound": bound,
                "loss": loss,
                "tutorial_loss": tutorial_loss,
                "peak_rss": rss,
                "tutorial_peak_rss": tutorial_rss,
            }
            results.append(row)
            print(
                f"  {args.preset} {precision}: {seconds:.1f} s, loss {loss:.4g} -> ratio "
                f"{'>=' if bound else ''}{ratio:.1f}",
                flush=True,
            )
    preview_first, preview_tenth, preview_seconds = preview_first_image(weights_path)
    print(
        f"preview preset, CLI start to first preview image (5 evaluations) / 10 evaluations / the result "
        f"(TensorFlow load included): {preview_first:.1f} s / {preview_tenth:.1f} s / {preview_seconds:.1f} s",
        flush=True,
    )
    memory_rows = (
        [] if args.no_memory else memory_table(weights_path, args.memory_sizes, args.memory_presets, args.memory_rounds)
    )

    print(f"\n| pair | {args.preset} precision | {args.preset} s | tutorial s to same loss | ratio |", end="")
    print(f" {args.preset} loss | tutorial loss ({tutorial_steps} steps) | peak RSS {args.preset} / tutorial |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        reached = (
            "never (full run: {:.0f})".format(r["tutorial_seconds"])
            if r["lower_bound"]
            else "{:.0f}".format(r["tutorial_seconds_to_same_loss"])
        )
        print(
            f"| {r['pair']} | {r['precision']} | {r['seconds']:.1f} | {reached} | "
            f"{'>=' if r['lower_bound'] else ''}{r['ratio']:.1f} | {r['loss']:.4g} | {r['tutorial_loss']:.4g} | "
            f"{r['peak_rss'] / 2**20:.0f} / {r['tutorial_peak_rss'] / 2**20:.0f} MiB |"
        )
    print(
        f"\npreview preset (CLI, TensorFlow load included): first preview image {preview_first:.1f} s "
        f"(after 10 evaluations: {preview_tenth:.1f} s), result {preview_seconds:.1f} s"
    )
    print_memory_table(memory_rows)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "results": results,
                    "preview_first_image": preview_first,
                    "preview_tenth_evaluation": preview_tenth,
                    "preview_seconds": preview_seconds,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
