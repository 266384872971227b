"""The Krita plugin's engine command line (``neural_style.request``), without Krita or Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugin"
if str(PLUGIN_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGIN_DIR))

from neural_style.config import STROKE_SIZES, WORKING_SIZES  # noqa: E402 - needs PLUGIN_DIR on sys.path
from neural_style.request import EngineRequest, standby_arguments  # noqa: E402


def request(**fields) -> EngineRequest:
    return EngineRequest(python="python3", content="c.png", style="s.jpg", output="o.png", **fields)


def value_of(args: list[str], flag: str) -> str:
    assert args.count(flag) == 1, args
    return args[args.index(flag) + 1]


def test_the_command_line_needs_no_qt():
    """Krita's Qt is not in this interpreter: the request module must work without it."""
    code = (
        f"import sys; sys.path.insert(0, {str(PLUGIN_DIR)!r}); import neural_style.request; "
        "assert 'neural_style.qt_compat' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("max_size", [None, 0])
def test_no_working_size_and_no_full_resolution_by_default(max_size):
    args = request(max_size=max_size).arguments()
    assert "--max-size" not in args
    assert "--full-resolution" not in args
    assert value_of(args, "--preset") == "balanced"


@pytest.mark.parametrize("size", WORKING_SIZES)
def test_working_size_becomes_max_size(size):
    args = request(max_size=size).arguments()
    assert value_of(args, "--max-size") == str(size)
    assert "--full-resolution" not in args


def test_full_resolution_is_a_bare_flag():
    args = request(full_resolution=True).arguments()
    assert args.count("--full-resolution") == 1
    assert "--max-size" not in args


def test_working_size_and_full_resolution_together_with_other_options():
    args = request(
        preset="preview", max_size=768, full_resolution=True, seed=3, init="noise", extra={"iterations": 4}
    ).arguments()
    assert value_of(args, "--max-size") == "768"
    assert args.count("--full-resolution") == 1
    assert value_of(args, "--iterations") == "4" and value_of(args, "--init") == "noise"
    assert value_of(args, "--seed") == "3" and value_of(args, "--preset") == "preview"


@pytest.mark.parametrize("init", [None, "", "noise", "content"])
def test_init_is_sent_only_when_set(init):
    """``init`` is the plugin's own field (the dialog's *Start from*), not a script's extra option:
    None (the dialog's *Your picture*) sends nothing, so the engine's default applies."""
    from nst_engine.cli import build_parser

    args = request(init=init).arguments()
    if init:
        assert value_of(args, "--init") == init
    else:
        assert "--init" not in args
    assert build_parser().parse_args(args[2:]).init == (init or None)


@pytest.mark.parametrize("scale", [None, 0.5, 1.0, 2.0])
def test_stroke_size_is_sent_as_the_engines_style_scale(scale):
    """The dialog's *Stroke size* is the engine's ``--style-scale``; None sends nothing (1)."""
    from nst_engine.cli import build_parser

    args = request(style_scale=scale).arguments()
    if scale is None:
        assert "--style-scale" not in args
    else:
        assert float(value_of(args, "--style-scale")) == scale
    assert build_parser().parse_args(args[2:]).style_scale == scale


def test_stroke_sizes_offered_by_the_dialog():
    """One choice keeps the style as painted; the others stay where scaling enlarges strokes
    rather than only blurring the style image (at most twice the working size)."""
    scales = [scale for _label, scale in STROKE_SIZES]
    assert scales == sorted(scales) and 1.0 in scales and max(scales) <= 2.0 and min(scales) > 0


def test_working_sizes_offered_by_the_dialog():
    assert WORKING_SIZES == [256, 384, 512, 768, 1024, 1536]


def test_the_engine_accepts_the_plugins_arguments():
    """The flags the plugin builds are the engine's own (no usage error in Krita)."""
    from nst_engine.cli import build_parser

    args = request(max_size=384, full_resolution=True, mask="m.png", preview_path="p.png").arguments()
    assert args[:2] == ["-m", "nst_engine"]
    parsed = build_parser().parse_args(args[2:])
    assert parsed.max_size == 384
    assert parsed.full_resolution is True
    assert parsed.preview_every == 10 and parsed.preview_seconds == 2.0  # a GPU is not slowed by previews
    plain = build_parser().parse_args(request().arguments()[2:])
    assert plain.max_size is None and not plain.full_resolution


def test_a_warm_engine_gets_the_same_run_as_a_fresh_one():
    """The job line a standby receives (as `EngineProcess.submit` writes it, as the standby reads
    it) parses to the same run as the fresh command line."""
    from nst_engine import standby
    from nst_engine.cli import build_parser

    req = request(max_size=384, mask="m.png", seed=3, extra={"iterations": 50})
    fresh = build_parser().parse_args(req.arguments()[2:])
    line = json.dumps(req.run_arguments())
    warm = build_parser().parse_args(["run", *standby.job_arguments(line)])
    assert vars(warm) == vars(fresh)
    assert (fresh.command, fresh.max_size, fresh.seed, fresh.iterations) == ("run", 384, 3, (50,))


@pytest.mark.parametrize("weights", ["", "/w/vgg19.h5"])
def test_the_engine_accepts_the_plugins_standby_command(weights):
    from nst_engine.cli import build_parser

    args = standby_arguments(weights, idle_timeout=600.0)
    assert args[:3] == ["-m", "nst_engine", "standby"]
    parsed = build_parser().parse_args(args[2:])
    assert parsed.idle_timeout == 600.0
    assert parsed.weights == (weights or None)


@pytest.mark.parametrize("mix, weights", [(0.5, (0.5, 0.5)), (0.3, (0.7, 0.3)), (0.9, (0.1, 0.9))])
def test_a_blend_sends_two_styles_and_their_weights(mix, weights):
    """The dialog's *Blend with* and *Mix*: the second style and its share, as the engine's own
    parser reads them (jcjohnson/neural-style's ``-style_image a,b -style_blend_weights``)."""
    from nst_engine.cli import build_parser

    args = request(blend_style="b.jpg", blend_mix=mix).arguments()
    assert args.count("--style") == 2 and args.count("--style-weights") == 1, args
    sent = [float(w) for w in value_of(args, "--style-weights").split(",")]
    assert sent == list(weights) and sum(sent) == pytest.approx(1.0), sent
    parsed = build_parser().parse_args(args[2:])
    assert [str(p) for p in parsed.style] == ["s.jpg", "b.jpg"]
    assert parsed.style_weights == pytest.approx(weights)


@pytest.mark.parametrize("blend", [None, ""])
def test_without_a_blend_the_command_line_is_unchanged(blend):
    from nst_engine.cli import build_parser

    plain = request(max_size=384, seed=2, init="noise").arguments()
    assert request(max_size=384, seed=2, init="noise", blend_style=blend, blend_mix=0.3).arguments() == plain
    assert plain.count("--style") == 1 and "--style-weights" not in plain
    parsed = build_parser().parse_args(plain[2:])
    assert [str(p) for p in parsed.style] == ["s.jpg"] and parsed.style_weights is None
