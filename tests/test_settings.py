"""Presets and option validation."""

import math

import pytest

from nst_engine.errors import BadInputError
from nst_engine.settings import PRESETS, preset


def test_tutorial_preset_is_the_reference_algorithm():
    s = PRESETS["tutorial"]
    assert (s.max_size, s.scales, s.iterations, s.optimizer) == (512, (1.0,), (1000,), "adam")
    assert (s.learning_rate, s.beta1, s.beta2, s.epsilon, s.precision) == (5.0, 0.99, 0.999, 0.1, "float32")
    assert s.conv_gradient == "tensorflow"  # TensorFlow's own gradient kernels, as the tutorial
    assert s.gram_gradient == "tensorflow"  # and TensorFlow's own gradient through the Gram matrices
    assert all(PRESETS[name].gram_gradient == "symmetric" for name in PRESETS if name != "tutorial")
    assert (s.content_weight, s.style_weight, s.tv_weight, s.init) == (1e3, 1e-2, 0.0, "content")


def test_the_command_line_chooses_the_gram_gradient():
    from nst_engine.cli import _settings, build_parser

    base = ["run", "--content", "c.png", "--style", "s.png", "--output", "o.png"]
    assert _settings(build_parser().parse_args(base)).gram_gradient == "symmetric"  # balanced's
    chosen = build_parser().parse_args([*base, "--gram-gradient", "tensorflow"])
    assert _settings(chosen).gram_gradient == "tensorflow"
    tutorial = build_parser().parse_args([*base, "--preset", "tutorial"])
    assert _settings(tutorial).gram_gradient == "tensorflow"


def test_the_command_line_turns_the_pixel_scaling_off_and_on():
    from nst_engine.cli import _settings, build_parser

    base = ["run", "--content", "c.png", "--style", "s.png", "--output", "o.png"]
    assert _settings(build_parser().parse_args(base)).lbfgs_pixel_scaling  # balanced's
    assert not _settings(build_parser().parse_args([*base, "--no-lbfgs-pixel-scaling"])).lbfgs_pixel_scaling
    preview = build_parser().parse_args([*base, "--preset", "preview"])
    assert not _settings(preview).lbfgs_pixel_scaling
    assert _settings(
        build_parser().parse_args([*base, "--preset", "preview", "--lbfgs-pixel-scaling"])
    ).lbfgs_pixel_scaling


def test_overrides_replace_only_what_is_given():
    s = preset("tutorial", iterations=(10,), learning_rate=None)
    assert s.iterations == (10,) and s.learning_rate == 5.0


def test_a_single_iteration_count_is_split_over_the_stages_as_the_preset_splits_it():
    s = preset("balanced", scales=(0.5, 1.0), iterations=(70,))
    assert s.iterations == (35, 35)
    assert preset("balanced", scales=(0.5, 1.0), iterations=(3, 4)).iterations == (3, 4)
    assert preset("balanced", scales=(0.25, 0.5, 1.0), iterations=(9,)).iterations == (3, 3, 3)


@pytest.mark.parametrize(
    "field, value",
    [
        ("iterations", (-1,)),
        ("iterations", (0,)),
        ("iterations", (5, 5, 5)),
        ("scales", (1.0, 0.5)),
        ("scales", (0.5,)),
        ("scales", (0.0, 1.0)),
        ("optimizer", "sgd"),
        ("precision", "float8"),
        ("conv_gradient", "eigen"),
        ("gram_gradient", "fast"),
        ("learning_rate", math.nan),
        ("strength", -2.0),
        ("style_weight", math.inf),
        ("tv_weight", -1.0),
        ("lbfgs_levels", -1),
        ("max_size", 8),
        ("beta1", 1.0),
        ("init", "zeros"),
        ("style_weights", (1.0, -1.0)),
    ],
)
def test_bad_values_are_refused_with_the_option_named(field, value):
    with pytest.raises(BadInputError) as info:
        preset("balanced", **{field: value})
    assert info.value.exit_code == 2
    assert "--" + field.replace("_", "-") in str(info.value)


def test_unknown_preset():
    with pytest.raises(BadInputError, match="unknown preset"):
        preset("fast-and-pretty")
