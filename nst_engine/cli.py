"""The `nst-engine` command line: `run` stylises an image, `standby` loads first and takes its run
from stdin, `weights` finds or fetches VGG19.

The protocol that front ends rely on (JSON events, exit codes, cancellation) is in docs/protocol.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import traceback
from pathlib import Path

from . import __version__, memory, standby, weights
from .cancel import Interruptions
from .errors import EXIT_OK, BadInputError, EngineError
from .progress import HumanReporter, JsonReporter, Reporter
from .run import RunRequest, run
from .settings import (
    CONV_GRADIENTS,
    DEFAULT_PRESET,
    GRAM_GRADIENTS,
    INITS,
    OPTIMIZERS,
    PRECISIONS,
    PRESETS,
    Settings,
    preset,
)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors become our BadInputError so that JSON front ends see them too,
    and options are never abbreviated: `_make_reporter` looks for `--progress` before parsing, so
    `--prog json` would parse as JSON mode and still print for people."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise BadInputError(f"{message} (see `{self.prog} --help`)", "usage")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown option points to the help of the command it was given to."""
        known, extras = self.parse_known_args(args, namespace)
        if extras:
            command = " ".join(
                filter(None, [self.prog, getattr(known, "command", None), getattr(known, "action", None)])
            )
            raise BadInputError(f"unrecognized arguments: {' '.join(extras)} (see `{command} --help`)", "usage")
        return known


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def _memory_size(text: str) -> int:
    try:
        return memory.parse_size(text)
    except BadInputError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nst-engine", description="Neural style transfer (Gatys et al.) with VGG19.")
    parser.add_argument("--version", action="version", version=f"nst-engine {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = commands.add_parser("run", help="stylise an image", description="Repaint CONTENT in the style of STYLE.")
    files = r.add_argument_group("files")
    files.add_argument("--content", required=True, type=Path, help="image to repaint (alpha is kept)")
    files.add_argument("--style", required=True, action="append", type=Path, help="style image; repeat to blend")
    files.add_argument("--output", required=True, type=Path, help="result; same pixel size as the content")
    files.add_argument("--mask", type=Path, help="grey-level mask at the content's size: white = stylise")
    files.add_argument(
        "--mask-output",
        choices=["blend", "cutout"],
        default="blend",
        help="outside the mask: keep the content (blend) or make it transparent (cutout)",
    )
    files.add_argument("--weights", help="VGG19 weights file (default: $NST_VGG19_WEIGHTS, then Keras' cache)")

    look = r.add_argument_group("look (defaults come from the preset)")
    look.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET, help="default: %(default)s")
    look.add_argument("--style-weights", type=_float_list, help="blend weights, one per --style, e.g. 0.7,0.3")
    look.add_argument("--strength", type=float, help="style strength: multiplies the style weight (1 = preset)")
    look.add_argument("--style-scale", type=float, help="style image size relative to the working size")
    look.add_argument("--preserve-colors", action="store_true", default=None, help="keep the content's colours")

    opt = r.add_argument_group("optimisation (defaults come from the preset)")
    opt.add_argument("--max-size", type=int, help="working size: longest side in pixels")
    opt.add_argument(
        "--full-resolution",
        action="store_true",
        default=None,
        help="after --max-size, refine at twice the size, and so on up to the content's own size (tiled)",
    )
    opt.add_argument(
        "--refine-iterations",
        type=int,
        help="evaluations at the first refining size; half at each further one, down to a quarter",
    )
    opt.add_argument(
        "--max-memory",
        type=_memory_size,
        metavar="SIZE",
        help=(
            "memory ceiling, e.g. 4G; larger images are optimised in tiles to stay under it "
            "(default: half the RAM, or 80%% of what is available if less)"
        ),
    )
    opt.add_argument("--tile-size", type=int, metavar="PX", help="largest tile side, below what --max-memory allows")
    opt.add_argument("--scales", type=_float_list, help="coarse-to-fine stages as fractions of --max-size, e.g. 0.5,1")
    opt.add_argument(
        "--iterations", type=_int_list, help="evaluations: one per scale, or one total split as the preset splits it"
    )
    opt.add_argument("--optimizer", choices=list(OPTIMIZERS))
    opt.add_argument("--lbfgs-memory", type=int, help="L-BFGS history length")
    opt.add_argument(
        "--lbfgs-levels",
        type=int,
        help="blur levels (2, 4, ... 2^N px) in L-BFGS's first Hessian guess (0: plain L-BFGS)",
    )
    opt.add_argument(
        "--lbfgs-pixel-scaling",
        action=argparse.BooleanOptionalAction,
        help="weight each pixel's step in L-BFGS's first Hessian guess by the inverse of its recent gradients' "
        "size, as Adam does (--no-lbfgs-pixel-scaling: the guess alone)",
    )
    opt.add_argument(
        "--precision",
        choices=list(PRECISIONS),
        help="convolution arithmetic; auto = bfloat16 only where the hardware runs it natively",
    )
    opt.add_argument(
        "--conv-gradient",
        choices=list(CONV_GRADIENTS),
        help="kernel for the gradient through the convolutions, the same arithmetic either way: TensorFlow's "
        "own, or the forward convolution with the flipped kernel (less memory and faster where TensorFlow "
        "has no oneDNN); auto = flipped on such CPUs",
    )
    opt.add_argument(
        "--gram-gradient",
        choices=list(GRAM_GRADIENTS),
        help="gradient through the float32 Gram matrices, the same arithmetic either way: TensorFlow's own "
        "(two matrix products, as the tutorial) or symmetric (one)",
    )
    opt.add_argument("--learning-rate", type=float)
    opt.add_argument("--beta1", type=float)
    opt.add_argument("--beta2", type=float)
    opt.add_argument("--epsilon", type=float)
    opt.add_argument("--content-weight", type=float)
    opt.add_argument("--style-weight", type=float)
    opt.add_argument("--tv-weight", type=float, help="total-variation (smoothness) weight")
    opt.add_argument("--init", choices=list(INITS))
    opt.add_argument("--seed", type=int, help="seed for noise initialisation")

    out = r.add_argument_group("progress")
    out.add_argument("--progress", choices=["human", "json", "none"], default="human")
    out.add_argument("--preview-every", type=int, default=0, metavar="N", help="write a preview every N iterations")
    out.add_argument(
        "--preview-seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="but at most one every S seconds (for fast GPUs; default 0: no limit)",
    )
    out.add_argument("--preview-path", type=Path, help="default: <output stem>.preview.png, removed at the end")

    s = commands.add_parser(
        "standby",
        help="load TensorFlow and VGG19, then run the `run` arguments that arrive on stdin",
        description=(
            "A warm engine for front ends: loads everything, prints a `ready` event, then reads one line "
            "from stdin, a JSON list of `run` arguments, and runs them (always with JSON progress)."
        ),
    )
    s.add_argument("--weights", help="VGG19 weights file (default: $NST_VGG19_WEIGHTS, then Keras' cache)")
    s.add_argument(
        "--idle-timeout",
        type=float,
        default=standby.DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="exit when no run has arrived after this long (default: %(default)s)",
    )

    w = commands.add_parser("weights", help="find or fetch the VGG19 weights")
    wc = w.add_subparsers(dest="action", required=True, parser_class=_Parser)
    fetch = wc.add_parser("fetch", help="download and verify the weights (into Keras' cache by default)")
    fetch.add_argument("--dest", type=Path, help="folder to put the file in")
    path = wc.add_parser("path", help="print the weights file a run would use")
    path.add_argument("--weights", help="check this file instead")
    return parser


OPTIMIZER_OPTIONS = {
    "adam": ("learning_rate", "beta1", "beta2", "epsilon"),
    "lbfgs": ("lbfgs_memory", "lbfgs_levels", "lbfgs_pixel_scaling"),
}
"""Options that only one optimiser reads: given for a run with the other, they would change nothing."""


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {name: getattr(args, name, None) for name in Settings.__dataclass_fields__}
    settings = preset(args.preset, **overrides)
    for optimizer, names in OPTIMIZER_OPTIONS.items():
        given = [name for name in names if overrides[name] is not None]
        if given and settings.optimizer != optimizer:
            option = "--" + given[0].replace("_", "-")
            raise BadInputError(
                f"{option} is for the {optimizer} optimiser, but this run uses {settings.optimizer} "
                f"(preset {args.preset}): add --optimizer {optimizer} or leave {option} out"
            )
    return settings


def _run(args: argparse.Namespace, reporter: Reporter) -> int:
    interruptions = Interruptions()
    interruptions.install()
    request = RunRequest(
        content=args.content,
        styles=args.style,
        output=args.output,
        settings=_settings(args),
        preset=args.preset,
        mask=args.mask,
        mask_output=args.mask_output,
        weights=args.weights,
        preview_every=args.preview_every,
        preview_seconds=args.preview_seconds,
        preview_path=args.preview_path,
    )
    output = run(request, reporter, interruptions)
    reporter.done(str(output))
    return EXIT_OK


def _standby(args: argparse.Namespace, reporter: Reporter) -> int:
    """Load, say `ready`, then run the one job that arrives on stdin (or exit when none does)."""
    if not (math.isfinite(args.idle_timeout) and 0 < args.idle_timeout <= threading.TIMEOUT_MAX):
        raise BadInputError(f"--idle-timeout must be a number of seconds above 0, not {args.idle_timeout}")
    path = weights.locate(args.weights)
    device = standby.load(str(path), reporter)
    reporter.ready(device=device, idle_timeout=args.idle_timeout)
    line = standby.wait_for_job(args.idle_timeout)
    if line is None:
        reporter.log("standby: no run arrived; exiting")
        return EXIT_OK
    reporter.restart_clock()
    try:
        job = build_parser().parse_args(["run", *standby.job_arguments(line)])
    except SystemExit:  # --help: argparse would print it and exit 0, without the protocol's last event
        raise BadInputError("the job line asks for help, not a run: send `nst-engine run` arguments", "usage") from None
    if job.weights is None:  # the weights the standby checked and loaded, unless the job names others
        job.weights = str(path)
    return _run(job, reporter)


def _weights(args: argparse.Namespace, reporter: Reporter) -> int:
    if args.action == "fetch":
        path = weights.fetch(args.dest, log=reporter.log)
    else:
        path = weights.locate(args.weights)
    print(path, flush=True)
    return EXIT_OK


def _make_reporter(argv: list[str]) -> Reporter:
    """JSON mode keeps the real stdout for the protocol and sends everything else to stderr.

    A standby engine always speaks JSON: it exists to serve a front end."""
    mode = "human"
    for index, arg in enumerate(argv):
        if arg.startswith("--progress="):
            mode = arg.split("=", 1)[1]
        elif arg == "--progress" and index + 1 < len(argv):
            mode = argv[index + 1]
    if argv[:1] == ["standby"]:
        mode = "json"
    if mode != "json":
        return Reporter() if mode == "none" else HumanReporter()
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return JsonReporter(protocol)


def _tolerant_streams() -> None:
    """Text that stdout's encoding cannot hold comes out escaped (as Python writes it on stderr)
    instead of failing the command: the paths it prints are the user's, and on Windows a redirected
    stream has the system's code page (cp1252 or the like), in which "日本" does not exist."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    reporter = _make_reporter(argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "run":
            return _run(args, reporter)
        if args.command == "standby":
            return _standby(args, reporter)
        return _weights(args, reporter)
    except EngineError as error:
        reporter.error(error)
        return error.exit_code
    except Exception as exc:  # noqa: BLE001 - the protocol promises an error event for anything
        if _is_out_of_memory(exc):
            error = EngineError(OUT_OF_MEMORY, "out_of_memory")
        else:
            traceback.print_exc(file=sys.stderr)
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            error = EngineError(f"internal error: {type(exc).__name__}: {text[:300]} (please report this)")
        reporter.error(error)
        return error.exit_code


OUT_OF_MEMORY = (
    "out of memory: lower --max-size, leave out --full-resolution or give a smaller --max-memory so the "
    "tiles are smaller, or close other programs"
)
"""Not a bug to report: the machine (or the GPU) had less memory free than the run needed."""


OUT_OF_MEMORY_TEXTS = ("OOM when allocating", "out of memory", "Dst tensor is not initialized")
"""How TensorFlow words a failed allocation in errors of other types (on a GPU, an InternalError
or UnknownError from cuDNN or a copy to the device)."""


def _is_out_of_memory(error: BaseException) -> bool:
    """Python's MemoryError, TensorFlow's ResourceExhaustedError (an allocation on the CPU or the
    GPU failed) or an error that says so in TensorFlow's words, told apart without importing
    TensorFlow where the run never loaded it."""
    if isinstance(error, MemoryError):
        return True
    tensorflow = sys.modules.get("tensorflow")
    errors = getattr(tensorflow, "errors", None)
    exhausted = getattr(errors, "ResourceExhaustedError", None)
    if exhausted is not None and isinstance(error, exhausted):
        return True
    op_error = getattr(errors, "OpError", None)
    text = str(error).lower()
    return op_error is not None and isinstance(error, op_error) and any(t.lower() in text for t in OUT_OF_MEMORY_TEXTS)
