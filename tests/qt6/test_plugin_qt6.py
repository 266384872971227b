"""The plugin's Qt code under PyQt6 (Krita 6's binding), outside Krita: see qt6_scenarios.py.

PyQt6 comes from PyPI into the test environment (pyproject's ``dev`` extra). Under
NST_REQUIRE_PYQT6=1 (CI) a missing PyQt6 fails these tests instead of skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "krita"))
import krita_helpers  # noqa: E402
from krita_helpers import isolated_env, require_weights, run_scenario_process  # noqa: E402


def _require_pyqt6() -> None:
    if importlib.util.find_spec("PyQt6") is None:
        if os.environ.get("NST_REQUIRE_PYQT6") == "1":
            pytest.fail("NST_REQUIRE_PYQT6=1 but PyQt6 is not installed (pip install -e '.[dev]')")
        pytest.skip("PyQt6 is not installed (pip install -e '.[dev]')")


def run_qt6_scenarios(tmp_path: Path, cases: list[str], weights: Path | None) -> dict:
    """Run ``cases`` in one fresh Python with PyQt6 and an offscreen display; their facts by name."""
    _require_pyqt6()
    env = isolated_env(tmp_path)  # a private HOME and TMPDIR, the plugin and the repo on the path
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(HERE)])
    command = [sys.executable, str(HERE / "qt6_scenarios.py")]
    return run_scenario_process(command, env, tmp_path, cases, weights, 600, "the PyQt6 run")


def case(results: dict, name: str) -> dict:
    return krita_helpers.case(results, name, "under PyQt6")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cases = ["binding", "pixels", "alpha_box", "menus", "dialog", "engine_errors"]
    return run_qt6_scenarios(tmp_path_factory.mktemp("qt6"), cases, None)


@pytest.fixture(scope="module")
def engine_results(tmp_path_factory):
    weights = require_weights()
    return run_qt6_scenarios(tmp_path_factory.mktemp("qt6-engine"), ["warm_engine", "engine_runs"], weights)


def test_the_box_of_what_shows_and_the_alpha_of_raw_pixels(results):
    """The box a masked layer is planned by (layer_io.alpha_box), and its alpha read straight
    from Krita's raw pixels: the last channel in every colour model, any of its bytes set."""
    facts = case(results, "alpha_box")
    assert facts["boxes"] == {"empty": [10, 20, 0, 0], "one": [13, 22, 1, 1], "rows": [10, 21, 5, 3]}, facts
    assert all(alpha[0] != 0 and alpha[1] == 0 for alpha in facts["alphas"].values()), facts["alphas"]
    assert facts["union"] == [0, -1, 6, 3] and facts["union_empty"] == [1, 1, 2, 2], facts


def test_open_images_are_written_within_the_engines_limits(results):
    """The plugin's copies of the engine's image limits (it cannot import the engine) agree."""
    from nst_engine import images

    limits = case(results, "alpha_box")["open_image_limits"]
    assert limits == [images.MAX_INPUT_PIXELS, images.MIN_SIDE], limits


def test_the_plugin_takes_pyqt6_when_krita_has_loaded_it(results):
    facts = case(results, "binding")
    assert facts["qt_api"] == "PyQt6", facts
    assert facts["qt_version"].startswith("6."), facts


def test_layer_pixels_survive_the_png_round_trip(results):
    facts = case(results, "pixels")
    assert facts["saved"], facts
    assert facts["bgra_back"] == facts["bgra_sent"], facts
    assert facts["bgra_back_from_16_bits"] == facts["bgra_sent"], facts  # each value's high byte
    assert facts["as_16_bits"] == [v for v in facts["bgra_sent"] for _ in (0, 1)], facts  # v·257: two bytes v
    assert facts["mask_back"] == facts["mask_sent"], facts  # 3 px wide: padded grey scanlines
    assert facts["error_codes"] == {"wrong_size": "bad_result", "missing": "bad_result"}, facts


def test_the_action_is_filed_into_menus_by_object_name(results):
    facts = case(results, "menus")
    assert facts["scripts_added"] and facts["in_scripts"], facts
    assert facts["filter_added"] and facts["in_filter"], facts
    assert not facts["missing_added"] and not facts["not_a_menu_added"], facts


def test_the_dialog_works_without_a_document(results):
    facts = case(results, "dialog")
    assert facts["target"] == "Open an image and select a layer.", facts
    assert facts["target_whole_image"] == "Open an image." and facts["source_option"] == "image", facts
    assert not facts["standby_started"], facts  # no engine set up
    assert facts["options"]["style_path"].endswith(".jpg") and facts["options"]["preset"] == "balanced", facts
    assert facts["thumbnail"] and max(facts["thumbnail"]) > 0, facts
    assert not facts["mix_enabled_alone"] and facts["mix_enabled_blend"], facts
    assert facts["blend_options"]["blend_style"] and facts["blend_options"]["blend_mix"] == 0.5, facts
    assert facts["running"] == {"run": False, "cancel": True}, facts
    assert facts["progress"] == {"text": "Painting on the CPU… step 9 of 12", "bar": 25}, facts
    assert facts["hidpi_preview"] == {"size": [320, 160], "ratio": 2.0}, "sharp on a HiDPI screen"
    larger = facts["larger_preview"]
    assert not larger["enabled_before"] and larger["enabled_after"] and larger["shown"], larger
    assert larger["first"] == [768, 384] and larger["second"] == [300, 200], "up to 768 px, never blown up"


def test_the_dialog_shows_a_failure_with_folded_details(results):
    facts = case(results, "dialog")
    assert facts["failure"] == {
        "message": "The style image is gone.",
        "details_button": True,
        "details_shown": False,
        "run_enabled": True,
    }, facts
    assert facts["unfolded"]["shown"] and facts["unfolded"]["grew_by"] > 0, facts


@pytest.mark.weights
def test_the_dialog_warms_an_engine_and_lets_it_go(engine_results):
    facts = case(engine_results, "warm_engine")
    assert facts["started"] and facts["ready"], facts
    assert facts["let_go"] and facts["ended"], facts


def test_engine_errors_reach_the_plugin_through_qprocess(results):
    facts = case(results, "engine_errors")
    missing = facts["missing_style"]
    assert missing["code"] == "input_missing" and "no_such_style.jpg" in missing["message"], missing
    assert missing["ended"], missing
    assert facts["no_python"]["code"] == "failed_to_start", facts["no_python"]


def test_the_engine_speaks_utf8_to_the_plugin_whatever_the_system_encoding(tmp_path):
    """The plugin reads the engine's output as UTF-8, and starts it so that it writes UTF-8 even
    where the system's encoding is another (Windows' code pages): text beyond ASCII can be printed
    and arrives whole, in the protocol's message and in the Details' stderr."""
    facts = case(run_qt6_scenarios(tmp_path, ["engine_encoding"], None), "engine_encoding")
    assert facts["code"] == "probe" and facts["message"] == "Zoë 日本 on stdout, utf-8", facts
    assert "Zoë 日本 on stderr, utf-8" in facts["stderr"], facts


@pytest.mark.weights
def test_an_engine_run_ends_with_its_image(engine_results):
    done = case(engine_results, "engine_runs")["done"]
    assert done["ok"] and done["output_exists"], done
    assert {"start", "progress", "preview"} <= set(done["events"]), done


@pytest.mark.weights
def test_a_cancelled_engine_run_ends_without_an_image(engine_results):
    cancelled = case(engine_results, "engine_runs")["cancelled"]
    assert cancelled["code"] == "cancelled" and not cancelled["output_exists"], cancelled
    assert cancelled["ended"], cancelled
