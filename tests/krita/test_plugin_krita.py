"""The plugin's core flow inside real Krita 5 (kritarunner), driving the real engine."""

from __future__ import annotations

import os

import pytest
from krita_helpers import case, require_krita, require_weights, run_scenarios

pytestmark = pytest.mark.krita

ENGINE_CASES = [
    "whole_layer",
    "rect_selection",
    "ellipse_selection",
    "cancel",
    "weights_missing",
    "warm_engine",
    "finish_now",
    "layer_deleted",
    "image_cropped",
]

STAND_IN_CASES = [  # run by a stand-in engine that returns the layer as it was sent (no weights)
    "group_deleted",
    "color_space_changed",
    "layer_moved",
    "painted_mid_run",
    "masked_layer",
    "spread_by_a_mask",
    "finish_disabled_by_cancel",
    "settings_saved_when_krita_quits",
    "stale_tmpdirs",
    "blend",
    "sixteen_bit",
    "other_color_spaces",
    "open_image_styles",
    "whole_image",
    "whole_image_changes",
    "dialog_source",
    "shown_layers",
    "results_stack",
    "animated",
    "closed_mid_run",
    "no_engine_at_open",
    "waits_for_the_stroke",
    "progress_bar",
]


@pytest.fixture(scope="module")
def engine_results(tmp_path_factory):
    require_krita()
    weights = require_weights()
    return run_scenarios(tmp_path_factory.mktemp("krita-engine"), ENGINE_CASES, weights, timeout=300)


@pytest.fixture(scope="module")
def full_resolution_results(tmp_path_factory):
    require_krita()
    weights = require_weights()
    return run_scenarios(tmp_path_factory.mktemp("krita-full-res"), ["full_resolution"], weights, timeout=600)


@pytest.fixture(scope="module")
def basic_results(tmp_path_factory):
    require_krita()
    return run_scenarios(
        tmp_path_factory.mktemp("krita-basic"),
        [
            "invalid",
            "bgra_roundtrip",
            "dialog",
            "dialog_thumbnails",
            "stubborn_engine",
            "ended_standby",
            "activation_refresh",
        ]
        + STAND_IN_CASES
        + ["engine_codes", "engine_ends", "unexpected_errors", "small_messages"],
        None,
    )


@pytest.fixture(scope="module")
def quit_results(tmp_path_factory):
    require_krita()  # a Krita of its own: after the quit no event loop runs again in it
    return run_scenarios(tmp_path_factory.mktemp("krita-quit"), ["quit_while_scripting"], None)


# -- without the engine ---------------------------------------------------------------------------
def test_a_second_cancel_does_not_put_off_the_kill(basic_results):
    """The engine normally stops within a second of Cancel; one that does not is killed after the
    grace period, counted from the first Cancel even when the painter presses it again."""
    facts = case(basic_results, "stubborn_engine")
    assert facts["code"] == "cancelled" and not facts["pid_alive"]
    assert facts["grace_s"] - 0.5 < facts["ended_after_s"] < facts["grace_s"] + 1.5, facts


def test_stop_kills_an_engine_that_ignores_cancel_after_the_wait(basic_results):
    """``EngineProcess.stop`` (Krita quitting, a closing window) blocks: cancel, wait, then kill."""
    facts = case(basic_results, "stubborn_engine")
    assert facts["stop_ended"] and facts["stop_code"] == "cancelled", facts
    assert 0.2 < facts["stop_s"] < 2.5, facts


def test_a_warm_engine_that_ended_by_itself_is_let_go(basic_results):
    """A warm engine ends by itself after its idle time; the dialog then starts another, and
    closing the dialog deletes both, as it does a running one once it has ended."""
    facts = case(basic_results, "ended_standby")
    assert facts["started"] and facts["first_ended"] and facts["replaced"], facts
    assert facts["first_deleted"] and facts["second_deleted"], facts
    assert not facts["standby_after_close"]


def test_coming_back_to_the_dialog_shows_the_layer_stylise_will_take(basic_results):
    """The dialog stays open while the painter works on the canvas; activating it again shows
    Krita's active layer (none in kritarunner), not the one it was opened on."""
    facts = case(basic_results, "activation_refresh")
    assert "Paint" in facts["before"] and not facts["dialog_active_before"]
    assert facts["dialog_active"], "the offscreen platform did not activate the dialog"
    assert facts["node"] is None and "Paint" not in facts["after"], facts


def test_krita_quitting_during_a_script_stops_the_engine(quit_results):
    """Krita's quit ends the local event loop ``api.stylize`` waits in: the script gets a
    StyleError, not a None result, and the engine does not outlive Krita."""
    facts = case(quit_results, "quit_while_scripting")
    assert facts["raised"] == "StyleError" and facts["code"] == "cancelled", facts
    assert facts["engines_at_quit"] and facts["engines_left"] == [] and facts["seconds"] < 30, facts
    assert facts["identical"] and facts["leftovers"] == []


def test_a_layer_whose_group_is_deleted_mid_run_gets_a_message_and_nothing_is_added(basic_results):
    """Deleting the group takes the layer out of the image even if the layer still has a parent."""
    facts = case(basic_results, "group_deleted")
    assert facts["progress"] and facts["raised"] and facts["code"] == "layer_gone", facts
    assert "Paint" in facts["message"] and "deleted" in facts["message"]
    assert facts["nodes_after"] == facts["expected_nodes"] and facts["leftovers"] == []


@pytest.mark.parametrize("kind", ["layer", "image"])
def test_a_colour_conversion_mid_run_keeps_the_result_in_the_new_colours(basic_results, kind):
    """The engine's result is 8-bit sRGB: converted into the image's new profile on the way in,
    it shows the colours that were sent, so a conversion no longer throws a long run away."""
    facts = case(basic_results, "color_space_changed")[kind]
    assert facts["profile_after"] == facts["other"] != facts["profile_before"], "the image was converted"
    assert not facts["raised"] and facts["layer_profile"] == facts["other"], facts
    difference = facts["as_source"]  # as ROUND_TRIP_TOLERANCE's "RGBA_U8_clay" below
    assert difference["shown"] == 96 * 64 and difference["colour"] <= 2 and difference["alpha"] == 0, difference
    assert facts["leftovers"] == [], facts


def test_a_layer_moved_mid_run_takes_its_result_along(basic_results):
    """A nudge with the Move tool no longer throws minutes of painting away: the result lies over
    the layer where it is now (the stand-in engine returns what it was sent)."""
    facts = case(basic_results, "layer_moved")
    assert facts["source_bounds_after"] == [10, 5, 40, 30], "the layer was moved during the run"
    assert not facts["raised"] and facts["bounds"] == [10, 5, 40, 30], facts
    assert facts["position"] == [0, 0] and not any(facts["changed"]), "pixel for pixel over the moved layer"
    assert facts["leftovers"] == [], facts


def test_a_group_moved_mid_run_adds_nothing(basic_results):
    """A group's offset does not say where its layers went: nothing is added."""
    moved = case(basic_results, "shown_layers")["moved_group"]
    assert moved["raised"] and moved["code"] == "layer_moved", moved
    assert moved["nodes_after"] == moved["nodes_before"], moved


def test_painting_on_the_layer_mid_run_still_adds_the_result(basic_results):
    facts = case(basic_results, "painted_mid_run")
    assert facts["progress"] and not facts["raised"], facts
    assert facts["source_bounds_after"] == [0, 0, 70, 50], "painted beyond the layer's edges during the run"
    assert facts["bounds"] == [0, 0, 40, 30]
    assert facts["siblings"].index(facts["name"]) == facts["siblings"].index("Paint") + 1


def test_the_layer_is_styled_as_its_masks_show_it(basic_results):
    """A transparency mask hides the right half: those pixels stay hidden in the new layer, which
    also takes the source's Inherit Alpha. A layer its masks hide entirely is refused."""
    facts = case(basic_results, "masked_layer")
    assert facts["tree"] == [[0, "Paint", "paintlayer"], [1, "Hide", "transparencymask"]]
    assert not facts["raised"], facts
    assert facts["left_alpha"] == [255] and facts["right_alpha"] == [0], facts
    assert facts["inherit_alpha"] is True
    hidden_layer = facts["layer_hidden"]  # a hidden layer: its own pixels, its masks left aside
    assert not hidden_layer["raised"] and hidden_layer["right_alpha"] == [255], hidden_layer
    hidden = facts["all_hidden"]
    assert hidden["raised"] and hidden["code"] == "empty_layer" and "masks" in hidden["message"], hidden
    assert hidden["progress"] == 0 and hidden["nodes_after"] == hidden["nodes_before"]


def test_what_a_mask_shows_beyond_the_layers_own_pixels_is_repainted_too(basic_results):
    """A blur filter mask spreads the layer's square beyond its own bounds: the new layer holds
    the whole of what the painter sees (the stand-in engine returns what it was sent)."""
    facts = case(basic_results, "spread_by_a_mask")
    assert not facts["raised"], facts
    assert facts["own_bounds"] == [30, 20, 20, 20] and facts["shown_outside_own"] > 100, facts
    x, y, w, h = facts["layer_bounds"]
    assert x < 30 and y < 20 and x + w > 50 and y + h > 40, facts
    assert facts["alpha_matches_shown"] <= 1, facts
    off = facts["off_canvas"]  # a square at x = -10: its left half is off the canvas, cut there
    x, _y, w, _h = off["layer_bounds"] or [-1, 0, 0, 0]
    assert not off["raised"] and x == 0 and x + w > 10, off  # and its halo on the right
    halo = facts["halo_selected"]  # a selection of the halo alone touches what shows
    assert not halo["raised"] and halo["layer_bounds"] is not None, halo
    hidden = facts["hidden"]  # a hidden layer: its own pixels, its masks left aside
    assert not hidden["raised"] and hidden["layer_bounds"] == [30, 20, 20, 20], hidden


def test_what_lies_beyond_the_canvas_is_not_repainted(basic_results):
    """Unseen pixels would cost time and working size: a layer half off the canvas sends only its
    half on it; one wholly off gets a message."""
    facts = case(basic_results, "spread_by_a_mask")
    plain = facts["plain_off_canvas"]
    assert not plain["raised"] and plain["sent_size"] == [10, 20] and plain["layer_bounds"] == [0, 20, 10, 20], plain
    outside = facts["outside"]
    assert outside["raised"] and outside["code"] == "empty_layer", outside
    assert outside["message"] == "“Plain” lies outside the canvas: move it onto the canvas and try again.", outside
    assert outside["progress"] == 0 and outside["nodes_after"] == outside["nodes_before"], outside


def test_cancel_greys_out_finish_now(basic_results):
    facts = case(basic_results, "finish_disabled_by_cancel")
    assert facts["enabled_at_preview"] and not facts["enabled_after_cancel"], facts
    assert facts["code"] == "cancelled"


def test_the_progress_line_says_where_the_engine_computes(basic_results):
    """A painter with a GPU sees whether it is used (the stand-in engine reports GPU:0)."""
    facts = case(basic_results, "finish_disabled_by_cancel")
    assert facts["message_at_preview"] == "Painting on the GPU… step 1 of 2", facts


def test_options_are_saved_when_krita_quits_with_the_dialog_open(basic_results):
    assert case(basic_results, "settings_saved_when_krita_quits")["strength"] == "3.50"


def test_temporary_folders_of_a_crashed_krita_are_removed(basic_results):
    facts = case(basic_results, "stale_tmpdirs")
    assert not facts["raised"], facts
    assert any(n.startswith(f"krita-neural-style-{facts['pid']}-") for n in facts["tmp_during"]), facts
    assert facts["stale_removed"] and facts["live_kept"] and facts["recent_kept"], facts
    assert facts["leftovers"] == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to make another user's folder")
def test_another_users_temporary_folders_are_kept(basic_results):
    """Only our own leftovers are ours to remove (CI runs as root, so it can chown one away)."""
    facts = case(basic_results, "stale_tmpdirs")
    assert facts["foreign_kept"] is True, facts


def test_layer_bytes_are_bgra_and_png_is_rgba(basic_results):
    facts = case(basic_results, "bgra_roundtrip")
    assert facts["png_rgba"] == facts["expected"]
    assert facts["roundtrip_identical"]


@pytest.mark.parametrize(
    "key, code",
    [
        ("empty_group", "empty_layer"),
        ("filter_layer", "unsupported_layer"),
        ("empty_layer", "empty_layer"),
        ("no_layer", "no_layer"),
        ("no_document", "no_document"),
        ("closed_document", "no_document"),
        ("selection_outside_layer", "selection_outside_layer"),
        ("engine_missing", "engine_missing"),
        ("no_engine_configured", "engine_missing"),
    ],
)
def test_unusable_targets_give_a_message_not_a_traceback(basic_results, key, code):
    facts = case(basic_results, "invalid")[key]
    assert "traceback" not in facts, facts.get("traceback")
    assert facts["raised"] and facts["code"] == code, facts
    assert facts["message"] and "Traceback" not in facts["message"]
    if "identical" in facts:
        assert facts["identical"], "the document changed"


def test_no_temporary_files_without_engine(basic_results):
    assert case(basic_results, "invalid")["leftovers"] == []


def test_dialog_widgets_and_remembered_settings(basic_results):
    facts = case(basic_results, "dialog")
    assert facts["presets"] == ["preview", "balanced", "tutorial"]
    assert facts["default_preset"] == "balanced"
    assert any("Starry Night" in s for s in facts["styles"]) and any("Scream" in s for s in facts["styles"])
    assert facts["thumbnail"]
    assert "Paint" in facts["target"] and not facts["cancel_enabled"]
    assert facts["remembered"]["strength"] == 2.5 and facts["remembered"]["preset"] == "tutorial"
    assert facts["remembered"]["preserve_colors"] is True
    assert facts["remembered"]["style_path"].endswith("starry_night.jpg")
    assert facts["remembered_engine"] == "/opt/engine/bin/python"
    assert "not found" in facts["bad_engine_message"] and facts["run_enabled_after_error"]
    assert "Open an image first" in facts["loose_message"] and facts["loose_unchanged"]
    assert "Paint" not in facts["loose_target"]
    assert facts["recent"] and facts["recent"][0].endswith("starry_night.jpg")
    # L-BFGS's presets show an image every 5 evaluations, the tutorial's Adam every 10 steps
    assert facts["preview_intervals"] == {"preview": "5", "balanced": "5", "tutorial": "10"}


def test_dialog_stroke_size_is_remembered_and_sent_as_style_scale(basic_results):
    facts = case(basic_results, "dialog")
    assert "As painted" in facts["stroke_labels"] and "Larger (×2)" in facts["stroke_labels"], facts["stroke_labels"]
    assert facts["default_options"]["style_scale"] is None  # as painted: the engine's default, nothing sent
    assert facts["remembered"]["style_scale"] == 1.5
    args = facts["engine_arguments"]
    assert args[args.index("--style-scale") + 1] == "1.5"


def test_dialog_working_size_and_full_resolution(basic_results):
    facts = case(basic_results, "dialog")
    assert facts["working_sizes"] == [0, 256, 384, 512, 768, 1024, 1536]
    assert facts["working_size_labels"][0] == "Preset default" and facts["working_size_labels"][4] == "768 px"
    assert facts["default_options"]["max_size"] is None and facts["default_options"]["full_resolution"] is False
    assert "time" in facts["size_tooltip"] and "pixel size" in facts["size_tooltip"]
    assert "tiles" in facts["full_res_text"] and "slower" in facts["full_res_text"]
    assert "minutes" in facts["full_res_tooltip"] and "time left" in facts["full_res_tooltip"]
    # remembered between runs, and what a Stylise press passes to the engine
    assert facts["remembered"]["max_size"] == 768 and facts["remembered"]["full_resolution"] is True
    args = facts["engine_arguments"]
    assert args[args.index("--max-size") + 1] == "768" and args.count("--full-resolution") == 1
    assert facts["preset_default_options"]["max_size"] is None
    assert facts["preset_default_options"]["full_resolution"] is False
    assert "--max-size" not in facts["preset_default_arguments"]
    assert "--full-resolution" not in facts["preset_default_arguments"]


def test_dialog_start_from_the_layer_or_from_seeded_noise(basic_results):
    """Only a start from noise has a seed: from the layer the seed is greyed out and not sent."""
    facts = case(basic_results, "dialog")
    assert facts["start_choices"] == ["content", "noise"]
    assert facts["default_options"]["init"] is None and facts["default_options"]["seed"] is None
    assert not facts["seed_enabled_from_layer"] and facts["seed_enabled_from_noise"]
    assert facts["remembered"]["init"] == "noise" and facts["remembered"]["seed"] == 42
    args = facts["engine_arguments"]
    assert args[args.index("--init") + 1] == "noise" and args[args.index("--seed") + 1] == "42"
    assert "--init" not in facts["preset_default_arguments"] and "--seed" not in facts["preset_default_arguments"]
    assert facts["preset_default_options"]["init"] is None and facts["preset_default_options"]["seed"] is None


def test_dialog_blends_a_second_style(basic_results):
    """*Blend with*: Nothing, then the same styles as the first list; *Mix* (the second style's
    share) only with a style to blend; both remembered and sent as two styles and their weights."""
    facts = case(basic_results, "dialog")
    assert facts["blend_styles"][0] == "Nothing (one style)" and facts["blend_data"][0] == ""
    assert facts["blend_data"][1:] == facts["style_data"], facts
    assert any("Starry Night" in s for s in facts["blend_styles"]) and any("Scream" in s for s in facts["blend_styles"])
    assert all(facts["blend_tooltips"]), facts["blend_tooltips"]
    assert facts["mix_range"] == [10, 90, 50]
    assert facts["default_options"]["blend_style"] is None and facts["default_options"]["blend_mix"] is None
    assert not facts["mix_enabled_with_nothing"] and facts["mix_enabled_with_a_blend"]
    assert facts["blend_enabled_while_running"] == [False, False, False] and facts["mix_enabled_after_run"]
    assert facts["remembered"]["blend_style"].endswith("the_scream.jpg")
    assert facts["remembered"]["blend_mix"] == pytest.approx(0.3)
    args = facts["engine_arguments"]
    styles = [args[i + 1] for i, a in enumerate(args) if a == "--style"]
    assert [s.rsplit("/", 1)[-1] for s in styles] == ["starry_night.jpg", "the_scream.jpg"], args
    assert args[args.index("--style-weights") + 1] == "0.7,0.3"
    assert not facts["mix_enabled_after_nothing"]
    assert facts["preset_default_options"]["blend_style"] is None
    assert facts["preset_default_options"]["blend_mix"] is None
    plain = facts["preset_default_arguments"]
    assert plain.count("--style") == 1 and "--style-weights" not in plain
    assert any(p.endswith("the_scream.jpg") for p in facts["recent"]), facts["recent"]


def _fits(facts: dict) -> bool:
    """A picture no bigger than its label, filling it one way (proportions kept)."""
    (w, h), (lw, lh) = facts["pixmap"], facts["size"]
    return facts["size"] == facts["fixed"] and 0 < w <= lw and 0 < h <= lh and (w == lw or h == lh)


def test_dialog_shows_the_style_it_blends_in(basic_results):
    """With a style to blend, a second, smaller thumbnail shows it beside *Blend with*; with
    Nothing it is empty; an image that cannot be read says "no image", as the first one does."""
    facts = case(basic_results, "dialog_thumbnails")
    for key in ("with_nothing", "after_nothing"):
        empty = facts[key]
        assert empty["hidden"] or (empty["pixmap"] is None and empty["text"] == ""), (key, empty)
    blended, first = facts["with_a_blend"], facts["first_with_a_blend"]
    assert blended["pixmap"] and _fits(blended) and not blended["hidden"], blended
    assert first["pixmap"] and _fits(first), first
    assert blended["size"][0] < first["size"][0] and blended["size"][1] < first["size"][1], (blended, first)
    # chosen with the blend's Choose image…: a file of the painter's own, then one that is not an image
    assert facts["own_path"].endswith("my_blend.jpg") and facts["own"]["pixmap"] and _fits(facts["own"]), facts
    assert facts["broken_path"].endswith("broken.jpg") and facts["broken_style_path"].endswith("broken.jpg"), facts
    for key in ("broken", "broken_style"):
        assert facts[key]["pixmap"] is None and facts[key]["text"] == "no image", (key, facts[key])


def test_dialog_blend_style_that_is_gone_falls_back_to_nothing(basic_results):
    gone = case(basic_results, "dialog")["gone_blend"]
    assert gone["path"] == "" and gone["text"] == "Nothing (one style)", gone
    assert gone["options"] == [None, None] and not gone["mix_enabled"] and not gone["message"], gone


def test_a_blend_adds_one_layer_named_after_both_styles(basic_results):
    facts = case(basic_results, "blend")
    for run in ("script", "dialog"):
        ran = facts[run]
        assert not ran.get("code") and ran["name"] == "Starry Night + The Scream", ran
        args = ran["engine_args"]
        styles = [args[i + 1].rsplit("/", 1)[-1] for i, a in enumerate(args) if a == "--style"]
        assert styles == ["starry_night.jpg", "the_scream.jpg"], args
    assert facts["script"]["engine_args"][facts["script"]["engine_args"].index("--style-weights") + 1] == "0.7,0.3"
    assert facts["script"]["nodes_after"] == facts["script"]["nodes_before"] + ["Starry Night + The Scream"]
    dialog_args = facts["dialog"]["engine_args"]
    assert dialog_args[dialog_args.index("--style-weights") + 1] == "0.6,0.4"
    assert any(p.endswith("the_scream.jpg") for p in facts["dialog"]["recent"]), facts["dialog"]
    assert facts["own_item"] == [1, "My Blend"], facts
    assert facts["leftovers"] == []


def test_a_blend_style_that_is_gone_stops_the_run_and_adds_nothing(basic_results):
    facts = case(basic_results, "blend")
    missing = facts["missing"]
    assert missing["raised"] and missing["code"] == "style_missing", missing
    assert "/nonexistent/blend.jpg" in missing["message"] and "Blend with" in missing["message"], missing
    assert missing["progress"] == 0 and missing["nodes_after"] == missing["nodes_before"]
    dialog = facts["dialog_missing"]
    assert dialog["code"] == "style_missing" and "my_blend.jpg" in dialog["message"], dialog
    assert "Blend with" in dialog["message"] and dialog["unchanged"], dialog


def test_dialog_engine_config_does_not_save_the_fields(basic_results):
    """Reading the engine's configuration has no hidden side effect: Stylise saves the fields."""
    assert case(basic_results, "dialog")["engine_config_saved_nothing"]


# -- what the painter reads when something fails ----------------------------------------------------
@pytest.mark.parametrize(
    "code, words",
    [
        ("image_too_small", ["too small", "Working size", "Select a larger area"]),
        ("memory_too_small", ["memory", "smaller Working size", "Full resolution"]),
        ("output_unwritable", ["free disk space", "krita-neural-style-"]),
        ("out_of_memory", ["ran out of memory", "smaller Working size", "turn off Full resolution"]),
        ("input_unreadable", ["style image", "PNG or JPEG"]),
        ("bad_option", ["installer/install.py", "Engine box"]),
    ],
)
def test_engine_codes_are_shown_in_the_dialogs_words(basic_results, code, words):
    """The engine words its messages for its command line (--max-size, --preview-path); the
    painter reads the dialog's terms, and the engine's own message is kept in the details."""
    facts = case(basic_results, "engine_codes")[code]
    assert facts["raised"] and facts["code"] == code, facts
    assert "--" not in facts["message"], facts["message"]
    for word in words:
        assert word in facts["message"], (word, facts["message"])
    assert facts["engine_message"] in facts["details"] and "engine stderr line" in facts["details"], facts


@pytest.mark.parametrize("role", ["content", "mask"])
def test_an_unreadable_copy_of_the_layer_is_not_blamed_on_the_style_image(basic_results, role):
    """The engine says ``input_unreadable`` for the content and the mask too, the copies the plugin
    wrote in its temporary folder: the painter can do nothing to the style image about those."""
    facts = case(basic_results, "engine_codes")[f"input_unreadable_{role}"]
    assert facts["code"] == "input_unreadable", facts
    assert facts["message"].startswith("The copy of what you repaint (or of the selection)"), facts
    assert "krita-neural-style-" in facts["message"] and "press Stylise again" in facts["message"], facts
    assert "style image" not in facts["message"] and "PNG or JPEG" not in facts["message"], facts


@pytest.mark.parametrize(
    "key, starts, words, not_words",
    [
        ("copy_missing", "The copy of what you repaint", ["was gone", "krita-neural-style-"], ["style image"]),
        (
            "mask_unreadable",
            "The copy of what you repaint",
            ["could not be read", "press Stylise again"],
            ["style image"],
        ),
        ("style_missing", "The style image “gone.jpg” is gone", ["choose it again"], ["copy", "My Styles"]),
        ("style_too_small", "The style image “tiny.png” is too small", ["16 pixels", "bigger one"], ["Working size"]),
        ("style_too_narrow_when_scaled", "The style image becomes too small", ["Working size", "Stroke size"], ["“"]),
        ("blend_too_narrow", "The style image “The Scream” becomes too small", ["Stroke size"], ["Starry"]),
        ("content_too_small", "What you repaint", ["too small", "Select a larger area"], ["style image"]),
        ("content_too_large", "What you repaint", ["100 megapixels", "select a smaller part"], ["style image"]),
    ],
)
def test_the_image_an_engine_error_is_about_is_taken_from_the_event(basic_results, key, starts, words, not_words):
    """The engine's error event says which image (``input``) and which file (``path``): the painter
    reads about that one alone, whatever the engine's own wording."""
    facts = case(basic_results, "engine_codes")[key]
    assert facts["raised"], facts
    message = facts["message"]
    assert message.startswith(starts), message
    assert all(word in message for word in words), (words, message)
    assert not any(word in message for word in not_words), (not_words, message)


def test_an_unreadable_style_image_is_named(basic_results):
    facts = case(basic_results, "engine_codes")["input_unreadable_style"]
    assert facts["message"].startswith("The style image cannot be read") and "PNG or JPEG" in facts["message"]


@pytest.mark.parametrize("run", ["dialog", "dialog_noise", "script_init", "script_unset"])
def test_a_refused_option_of_the_plugins_own_points_to_a_version_mismatch(basic_results, run):
    """The dialog's options (Start from: your layer or noise) and a script's ``init=`` or unset
    options are the plugin's: if the engine refuses them, its words are for a command line the
    painter never typed, and the fix is to install the engine again."""
    facts = case(basic_results, "engine_codes")[f"bad_option_{run}"]
    assert facts["code"] == "bad_option", facts
    assert facts["message"].startswith("The engine did not accept the plugin's options"), facts
    assert "--iterations" in facts["details"], facts
    if run == "dialog_noise":
        assert facts["init"] == "noise"


def test_a_refused_option_of_a_scripts_own_keeps_the_engines_words(basic_results):
    """``api.stylize(..., iterations=5)``: the script passed the option, so the engine's message,
    which names it, is the one that helps."""
    facts = case(basic_results, "engine_codes")["bad_option_script_option"]
    assert facts["code"] == "bad_option", facts
    assert facts["message"] == "--iterations must be greater than 0, not 0", facts


def test_weights_problems_say_what_fixes_them_for_where_the_path_came_from(basic_results):
    facts = case(basic_results, "engine_codes")
    field = facts["weights_from_field"]
    assert field["code"] == "weights_missing", field
    assert "/my/own/vgg19.h5" in field["message"] and "clear the VGG19 weights field" in field["message"], field
    assert "installer" not in field["message"] and "nst-engine" not in field["message"], field
    installed = facts["weights_from_installer"]
    assert installed["code"] == "weights_missing", installed
    assert "/installed/vgg19.h5" in installed["message"] and "installer/install.py" in installed["message"]
    assert "field" not in installed["message"] and "nst-engine" not in installed["message"], installed


def test_the_dialog_offers_the_engines_own_words_as_details(basic_results):
    facts = case(basic_results, "engine_codes")
    field = facts["weights_from_field"]
    assert field["details_offered"] and field["details_folded"], field
    assert "nst-engine weights fetch" in field["details"] and "engine stderr line" in field["details"], field
    unfolded = facts["details_unfolded"]
    assert unfolded["shown"] and unfolded["grew"] and unfolded["message_fits"] and unfolded["gave_back"], unfolded


def test_an_engine_killed_by_the_system_points_to_memory(basic_results):
    facts = case(basic_results, "engine_ends")["killed"]
    assert facts["raised"] and facts["code"] == "crashed", facts
    assert "out of memory" in facts["message"] and "smaller Working size" in facts["message"], facts


@pytest.mark.parametrize("name, signal", [("segfault", "SIGSEGV"), ("abort", "SIGABRT")])
def test_an_engine_that_crashed_says_so_without_blaming_memory(basic_results, name, signal):
    """A segfault or an abort is a bug to report, not memory: the message names the signal and the
    engine's last line, and gives no memory advice."""
    facts = case(basic_results, "engine_ends")[name]
    assert facts["raised"] and facts["code"] == "crashed", facts
    assert facts["message"].startswith("The engine crashed (signal "), facts
    assert signal in facts["message"] and "Fatal error in the stand-in" in facts["message"], facts
    assert "Please report it" in facts["message"], facts
    assert "memory" not in facts["message"] and "Working size" not in facts["message"], facts
    assert "Fatal error in the stand-in" in facts["details"], facts


def test_a_shell_wrappers_killed_engine_points_to_memory(basic_results):
    facts = case(basic_results, "engine_ends")["shell_killed"]
    assert facts["code"] == "crashed" and "out of memory" in facts["message"], facts


def test_an_engine_exiting_with_code_9_is_not_called_killed(basic_results):
    """Exit code 9 from a normal exit is the engine's own; only a crash exit with 9 is SIGKILL."""
    facts = case(basic_results, "engine_ends")["exit_9"]
    assert facts["code"] == "internal", facts
    assert "exit code 9" in facts["message"] and "nine" in facts["message"], facts
    assert "memory" not in facts["message"], facts


def test_a_python_without_the_engine_says_so(basic_results):
    facts = case(basic_results, "engine_ends")
    script = facts["wrong_python"]
    assert script["code"] == "not_the_engine", script
    assert "not the engine's environment" in script["message"] and "installer/install.py" in script["message"]
    assert "No module named nst_engine" in script["details"], script
    field = facts["wrong_python_field"]
    assert field["code"] == "not_the_engine" and "clear the Python field" in field["message"], field


def test_an_engine_that_ends_without_a_result_shows_its_last_words(basic_results):
    facts = case(basic_results, "engine_ends")["other"]
    assert facts["code"] == "internal", facts
    assert "ended without a result" in facts["message"] and "exit code 5" in facts["message"], facts
    assert "something broke" in facts["message"]


def test_unexpected_errors_say_what_they_are(basic_results):
    facts = case(basic_results, "unexpected_errors")
    no_tmp = facts["no_tmp"]
    assert no_tmp["code"] == "io", no_tmp
    assert no_tmp["message"].startswith("Could not write temporary files in /nonexistent-nst-tmp ("), no_tmp
    assert "free disk space" in no_tmp["message"]
    no_text = facts["no_text"]
    assert no_text["code"] == "internal" and "ValueError" in no_text["message"], no_text
    assert "Traceback" in no_text["details"] and "Traceback" not in no_text["message"]
    assert facts["leftovers"] == []


def test_small_messages_give_advice(basic_results):
    facts = case(basic_results, "small_messages")
    assert facts["no_style"].startswith("Choose a style image"), facts
    assert "/nonexistent/style.jpg" in facts["missing_style"] and "Choose image" in facts["missing_style"]
    assert "is a filter layer" in facts["filter_layer"] and "the group that holds it" in facts["filter_layer"], facts
    assert "nothing was added" in facts["closed"] and facts["unchanged"] is None, facts
    assert "disk" in facts["bad_result"] and "Stylise" in facts["bad_result"], facts
    damaged = facts["damaged_config"]
    assert damaged and "damaged" in damaged and facts["damaged_config_path"] in damaged, facts
    assert facts["damaged_but_field"], "a Python in the Engine box does not need the installer's file"


# -- with the engine ------------------------------------------------------------------------------
@pytest.mark.weights
def test_whole_layer_adds_one_layer_above_source(engine_results):
    facts = case(engine_results, "whole_layer")
    assert facts["layers_after"] == facts["layers_before"] + 1
    assert facts["name"] == "Starry Night" and facts["type"] == "paintlayer"
    assert facts["bounds"] == facts["source_bounds"]
    siblings = facts["siblings"]
    assert siblings.index("Starry Night") == siblings.index("Paint") + 1  # directly above
    assert facts["source_identical"] and facts["others_identical"]
    assert facts["leftovers"] == []


@pytest.mark.weights
def test_whole_layer_pixels_are_stylised_and_transparency_kept(engine_results):
    facts = case(engine_results, "whole_layer")
    x, y, w, h = facts["source_bounds"]
    inside = [(yy * 96 + xx) for yy in range(y, y + h) for xx in range(x, x + w)]
    outside = set(range(96 * 64)) - set(inside)
    assert all(facts["alpha"][i] == 255 for i in inside)
    assert all(facts["alpha"][i] == 0 for i in outside)
    changed = sum(facts["changed"][i] for i in inside) / len(inside)
    assert changed > 0.5, f"only {changed:.0%} of the pixels changed"


@pytest.mark.weights
def test_red_layer_stays_red(engine_results):
    """B,G,R,A vs R,G,B,A: a red-only layer must not come back blue."""
    r, g, b = case(engine_results, "whole_layer")["mean_rgb"]
    assert r > b + 40 and r > g + 20, (r, g, b)


def _selection_checks(facts, inside_fn):
    alpha, changed, mask = facts["alpha"], facts["changed"], facts["mask"]
    assert facts["layers_after"] == facts["layers_before"] + 1 and facts["others_identical"]
    outside = [i for i, m in enumerate(mask) if m == 0]
    full = [i for i, m in enumerate(mask) if m == 255]
    assert outside and full
    assert all(alpha[i] == 0 for i in outside), "pixels outside the selection must be fully transparent"
    assert all(alpha[i] == 255 for i in full)
    assert sum(changed[i] for i in full) / len(full) > 0.5
    assert facts["leftovers"] == []
    return [i for i, m in enumerate(mask) if 0 < m < 255]


@pytest.mark.weights
def test_rectangular_selection(engine_results):
    facts = case(engine_results, "rect_selection")
    _selection_checks(facts, None)
    x, y, w, h = facts["bounds"]
    assert (x, y, w, h) == (40, 30, 40, 30)


@pytest.mark.weights
def test_feathered_elliptical_selection(engine_results):
    facts = case(engine_results, "ellipse_selection")
    soft = _selection_checks(facts, None)
    assert len(soft) > 50, "feathering should give a soft edge"
    partial = [i for i in soft if 0 < facts["alpha"][i] < 255]
    assert len(partial) > len(soft) // 2, "soft selection edges must give partly transparent pixels"


@pytest.mark.weights
def test_cancel_leaves_nothing_behind(engine_results):
    facts = case(engine_results, "cancel")
    assert not facts["ok"] and facts["code"] == "cancelled"
    assert facts["progress_events"] >= 1
    assert facts["tmp_during"], "the run should have had a private temporary folder"
    assert facts["identical"], "the document changed"
    assert facts["leftovers"] == []
    assert facts["pid"] and not facts["pid_alive"]
    assert facts["cancel_seconds"] < 10


@pytest.mark.weights
def test_engine_failure_shows_message_and_changes_nothing(engine_results):
    facts = case(engine_results, "weights_missing")
    assert facts["raised"] and facts["code"] == "weights_missing", facts
    assert "/nonexistent/vgg19_missing.h5" in facts["message"] and "installer/install.py" in facts["message"]
    assert "weights" in facts["details"], "the engine's own message is kept as details"
    assert facts["identical"] and facts["leftovers"] == []


@pytest.mark.weights
def test_the_dialog_runs_in_a_warm_engine_and_ends_it_when_closed(engine_results):
    facts = case(engine_results, "warm_engine")
    assert facts["standby_started"] and facts["ready"], "showing the dialog starts a warm engine"
    assert facts["warm"] and facts["handed_over"], "Stylise hands the run to the warm engine"
    assert facts["job_pid"] == facts["standby_pid"]
    assert facts["ok"], facts["message"]
    assert facts["layers_after"] == facts["layers_before"] + 1
    assert facts["first_ended"], "a warm engine serves one run, then exits"
    assert facts["second_pid"] and facts["second_pid"] != facts["standby_pid"] and facts["second_alive"]
    assert not facts["standby_after_close"] and facts["second_ended_after_close"]
    assert facts["third_pid"] and facts["third_ended_at_quit"]
    assert facts["fourth_pid"] and not facts["standby_after_esc"] and facts["fourth_ended_after_esc"]
    assert facts["job_deleted"], "a finished job is let go, with its hold on the layers"
    assert facts["leftovers"] == []


@pytest.mark.weights
def test_finish_now_adds_the_layer_from_the_image_as_it_is(engine_results):
    facts = case(engine_results, "finish_now")
    assert not facts["enabled_at_start"] and not facts["enabled_before_a_preview"], "nothing to finish on yet"
    assert facts["enabled_at_preview"] and not facts["enabled_after_press"]
    assert "Finishing" in facts["message_after_press"]
    assert facts["ok"] and facts["finished_early"], facts["message"]
    assert "when you finished" in facts["message"]
    iteration, total = facts["progress"][-1]
    assert iteration < total // 2, "the run should stop soon after the press, not run to its end"
    assert facts["layers_after"] == facts["layers_before"] + 1 and facts["others_identical"]
    assert facts["bounds"] == [0, 0, 96, 64]
    assert sum(facts["changed"]) > 0.5 * len(facts["changed"]), "the layer holds the painting as it was"
    assert not facts["enabled_after_end"] and facts["leftovers"] == []


@pytest.mark.weights
def test_a_layer_deleted_mid_run_gets_a_message_and_nothing_is_added(engine_results):
    facts = case(engine_results, "layer_deleted")
    assert facts["progress"], "the layer was deleted during the run"
    assert facts["raised"] and facts["code"] == "layer_gone", facts
    assert "Paint" in facts["message"] and "deleted" in facts["message"]
    assert facts["nodes_after"] == facts["expected_nodes"] and facts["leftovers"] == []


@pytest.mark.weights
def test_an_image_cropped_mid_run_gets_a_message_and_nothing_is_added(engine_results):
    facts = case(engine_results, "image_cropped")
    assert facts["progress"] and facts["canvas"] == [48, 32], "the image was cropped during the run"
    assert facts["raised"] and facts["code"] == "image_resized", facts
    assert facts["nodes_after"] == facts["expected_nodes"] and facts["leftovers"] == []


@pytest.mark.weights
def test_krita_tmpdir_is_clean_after_all_runs(engine_results):
    assert not [n for n in engine_results["_tmpdir_entries"] if n.startswith("krita-neural-style-")]


@pytest.mark.weights
def test_full_resolution_layer_has_the_source_size(full_resolution_results):
    """300x200 layer, working size 128, refined to full resolution through api.stylize."""
    facts = case(full_resolution_results, "full_resolution")
    assert facts["full_bounds"] == facts["source_rect"] == [10, 10, 300, 200]
    assert facts["plain_bounds"] == facts["source_rect"]
    assert facts["inside_alpha_min"] == 255 and facts["outside_alpha_max"] == 0
    assert facts["layers_after_full"] == facts["layers_before"] + 1
    assert facts["siblings"].index("Full") == facts["siblings"].index("Paint") + 1
    assert facts["source_identical"] and facts["others_identical"]
    assert facts["changed_from_source"] > 0.5
    assert facts["leftovers"] == []


@pytest.mark.weights
def test_full_resolution_is_not_a_plain_upscale(full_resolution_results):
    facts = case(full_resolution_results, "full_resolution")
    assert facts["differs_from_plain"] > 0.25, facts
    detail = facts["detail"]  # refined at the layer's own size: sharper than the scaled-up result
    assert detail["full"] > 1.05 * detail["plain"], detail


@pytest.mark.weights
def test_full_resolution_progress_and_eta_include_the_refinement(full_resolution_results):
    """The dialog's bar and time left come from these events: they must cover the refining too."""
    progress = case(full_resolution_results, "full_resolution")["progress"]
    assert progress, "no progress events"
    total = progress[-1][1]
    assert total > 4, "4 iterations at the working size, plus the refining steps"
    assert all(t == total and 1 <= i <= t and eta is not None for i, t, eta in progress), progress
    assert progress[-1][0] == total


def test_sixteen_bit_layers_and_images_are_repainted_in_their_own_depth(basic_results):
    facts = case(basic_results, "sixteen_bit")
    for key, image_depth, layer_depth in (
        ("both_16", "U16", "U16"),
        ("layer_8_image_16", "U16", "U8"),
        ("layer_16_image_8", "U8", "U16"),
    ):
        run = facts[key]
        assert run["source_depth"] == layer_depth, run  # the case is the mix it names
        assert not run["raised"], run
        assert run["layer_depth"] == image_depth, run
        sent = bytes(run["source_bytes"])
        if run["source_depth"] == "U16":
            sent = sent[1::2]  # what went to the engine: each 16-bit value's high byte
        back = bytes(run["layer_bytes"])
        if image_depth == "U16":
            assert back[0::2] == back[1::2], run  # 8-bit values × 257
            back = back[1::2]
        assert back == sent, key


# Krita's conversion to 8-bit sRGB and back keeps grey, L*a*b* and floating-point levels exactly
# (one level allowed for rounding). CMYK goes through a printer profile with Krita's perceptual
# intent both ways, which does not undo itself exactly: 20 levels here, in saturated colours.
ROUND_TRIP_TOLERANCE = {
    "GRAYA_U8": 1,
    "GRAYA_U16": 1,
    "RGBA_F32": 1,
    "RGBA_F16": 1,
    "LABA_U16": 1,
    "CMYKA_U8": 24,
    "RGBA_U16_linear": 1,  # Krita's default profile for a new 16-bit RGB image: linear, so converted
    "RGBA_U8_clay": 2,  # other primaries (Adobe RGB's), in 8 bits both ways
}


@pytest.mark.parametrize("space", sorted(ROUND_TRIP_TOLERANCE))
def test_other_colour_spaces_are_sent_as_srgb_and_come_back_in_the_image_space(basic_results, space):
    """Grayscale, CMYK, L*a*b* and floating-point images were refused; Krita now converts their
    pixels to the engine's 8-bit sRGB and the result back. The stand-in engine returns what it
    was sent, so the new layer must show what the source shows, and the engine must have been
    sent that too (grey for a grey image), transparency included."""
    run = case(basic_results, "other_color_spaces")[space]
    assert run["converted"] and run["image_space"][:2] == space.split("_")[:2], run
    assert not run["raised"], run
    assert run["layer_space"] == run["image_space"], run
    tolerance = ROUND_TRIP_TOLERANCE[space]
    for key in ("sent_vs_source", "result_vs_source"):
        difference = run[key]
        assert difference["shown"] > 1000, (key, difference)  # the pixels were compared, not skipped
        assert difference["colour"] <= tolerance and difference["alpha"] <= 1, (key, difference)
    assert run["sent_grey"] == space.startswith("GRAYA"), run


def test_an_srgb_profile_other_than_kritas_is_sliced_after_one_probe(basic_results):
    facts = case(basic_results, "other_color_spaces")
    assert facts["builtin_listed"], "lcms's built-in sRGB profile is in every Krita"
    assert facts["builtin_direct"] == [True, True] and facts["probes"] == 1, facts


def test_an_8_bit_layer_in_a_floating_point_image_gives_a_floating_point_layer(basic_results):
    facts = case(basic_results, "other_color_spaces")
    run = facts["layer_8_image_float"]
    assert not run["raised"], run
    assert run["source_space"][:2] == ["RGBA", "U8"] and run["layer_space"][:2] == ["RGBA", "F32"], run
    difference = run["result_vs_source"]
    assert difference["shown"] > 1000 and difference["colour"] <= 1 and difference["alpha"] == 0, difference


def test_the_whole_of_a_grey_image_comes_back_grey(basic_results):
    run = case(basic_results, "other_color_spaces")["whole_grey_image"]
    assert not run["raised"], run
    assert run["layer_space"][:2] == ["GRAYA", "U8"] and run["others_identical"], run
    assert run["largest_grey_difference"] <= 1, run


def test_colour_conversions_leave_no_documents_and_name_what_krita_cannot_convert(basic_results):
    facts = case(basic_results, "other_color_spaces")
    assert facts["documents_left"] == [], "a scratch document was left open"
    unknown = facts["unknown_profile"]
    assert unknown["raised"] and unknown["code"] == "unsupported_color_space", unknown
    message = unknown["message"]
    assert "No such profile.icc" in message and "Convert Image Color Space" in message, message
    assert "RGB/Alpha, 8-bit integer/channel" in message and "RGBA" not in message, message  # Krita's menu names


# -- styles from images open in Krita ----------------------------------------------------------------
def test_images_open_in_krita_are_sent_as_styles_as_they_look(basic_results):
    """A style and a style to blend with from two open images, one of them grayscale: the engine
    gets PNGs of them as they look, in sRGB, from the job's own folder, and the layer is named
    after both."""
    run = case(basic_results, "open_image_styles")["two_open_images"]
    assert not run["raised"], run
    assert run["layer_name"] == "Reference + Grey sketch", run
    assert all("krita-neural-style-" in path for path in run["style_files"]), run
    assert run["first_size"] == [40, 30] and run["first_largest_difference"] <= 1, run
    assert run["second_size"] == [30, 20] and run["second_grey"], run
    assert run["second_levels"] == [0, 1, 250, 97], run  # i % 251 at pixels 0, 1, 250, 599: the levels painted
    assert run["leftovers"] == [], "the style files go with the job's folder"


def test_a_large_open_image_is_sent_at_most_at_the_largest_size_the_engine_uses(basic_results):
    run = case(basic_results, "open_image_styles")["wide"]  # 4200 x 60
    assert not run["raised"], run
    [(w, h)] = run["sizes"]
    assert w == run["longest"] and abs(h - 60 * w / 4200) < 1, run


def test_a_style_image_closed_before_the_run_is_named(basic_results):
    run = case(basic_results, "open_image_styles")["closed"]
    assert run["raised"] and run["code"] == "style_missing", run
    assert "chosen as the style to blend with was closed" in run["message"], run  # closed before: no name left
    assert run["progress"] == 0 and run["nodes_after"] == run["nodes_before"] and run["leftovers"] == [], run
    later = case(basic_results, "open_image_styles")["closed_later"]  # open when the job was made: named
    assert later["code"] == "style_missing", later
    assert later["message"].startswith("The image chosen as the style “Closed later” was closed in Krita"), later


def test_an_engine_error_about_an_open_images_copy_names_the_image_not_the_file(basic_results):
    facts = case(basic_results, "open_image_styles")
    unreadable = facts["engine_input_unreadable"]["message"]
    assert unreadable.startswith("The copy of the open image “Reference” that the plugin wrote in"), unreadable
    assert "press Stylise again" in unreadable and "PNG or JPEG" not in unreadable, unreadable
    small = facts["engine_image_too_small"]["message"]
    assert small.startswith("The style image “Reference” is too small") and "style.png" not in small, small


def test_the_dialog_lists_open_images_last_and_does_not_remember_them(basic_results):
    facts = case(basic_results, "open_image_styles")
    entries = facts["dialog_entries"]
    opened = [i for i, text in enumerate(entries) if text.endswith("(open image)")]
    names = [entries[i] for i in opened]  # the earlier scenarios' images ("test") are open too
    assert "Reference (open image)" in names and "Grey sketch (open image)" in names, entries
    assert opened == list(range(len(entries) - len(opened), len(entries))), entries  # last: never chosen for one
    assert facts["dialog_choice_is_reference"], facts
    assert facts["dialog_thumbnail"]["pixmap"] is not None, facts["dialog_thumbnail"]
    assert facts["saved_style"].endswith("starry_night.jpg"), "an open image is not saved as the next session's style"
    assert facts["entry_kept"], facts
    assert "Reference (open image)" not in facts["entries_after_close"], facts["entries_after_close"]


def test_a_chosen_open_image_closed_in_krita_stays_chosen_and_stylise_says_so(basic_results):
    """Not a silent switch to another style for a run of minutes: the entry stays, marked closed,
    and Stylise names the problem; once another style is chosen, it goes."""
    facts = case(basic_results, "open_image_styles")
    assert facts["closed_choice"] == "Irises (closed)", facts
    run = facts["closed_run"]
    assert run["code"] == "style_missing" and "was closed in Krita" in run["message"], run
    assert not any("Irises" in text for text in facts["after_another_choice"]), facts["after_another_choice"]


# -- Repaint: the whole image ---------------------------------------------------------------------
def test_the_whole_image_is_repainted_as_shown_into_a_new_layer_on_top(basic_results):
    """Red on the left, half-transparent blue at half its layer's opacity on the right over the
    white background, a hidden green layer: the new layer holds the image as shown
    (``doc.pixelData``, the layer's opacity merged), goes on top of the stack, and leaves every
    other layer as it was."""
    facts = case(basic_results, "whole_image")
    shown = facts["projection"]
    assert shown["green_pixels"] == 0, "the hidden green layer is not shown"
    run = facts["plain"]
    assert not run["raised"], run
    assert run["name"] == "Starry Night (whole image)" and run["top"] == run["name"], run
    assert run["nodes_after"] == run["nodes_before"] + [run["name"]], run
    assert run["bounds"] == [0, 0, 96, 64] and run["same_as_projection"], run
    b, g, r, a = run["left"]
    assert r > 100 and b < 30 and a == 255, run["left"]
    assert facts["blue_opacity"] == 128, facts
    share = 200 / 255 * 128 / 255  # Blue's pixels (r, g, b) = (10, 20, 110) there, at 200/255, in a layer at 128/255
    over_white = [round(255 - (255 - v) * share) for v in (110, 20, 10)] + [255]  # B, G, R, A: 198, 162, 159, 255
    assert all(abs(got - want) <= 3 for got, want in zip(run["right"], over_white)), (run["right"], over_white)
    assert run["bottom"] == [255, 255, 255, 255] and run["green_pixels"] == 0, run
    assert run["others_identical"] and run["leftovers"] == [], run


def test_the_whole_image_needs_neither_an_active_layer_nor_a_selection(basic_results):
    run = case(basic_results, "whole_image")["no_layer"]
    assert not run["raised"] and run["name"] == "Starry Night (whole image)" and run["top"] == run["name"], run
    assert run["nodes_after"] == run["nodes_before"] + [run["name"]], run
    assert run["bounds"] == [0, 0, 96, 64] and run["same_as_projection"] and run["others_identical"], run


def test_a_script_s_own_paint_is_in_the_whole_image_it_repaints(basic_results):
    """A script paints a layer (``setPixelData``, which Krita 5.1 does not redraw the image for)
    and calls ``api.stylize(source="image")`` without ``refreshProjection()``: the new layer has
    the new paint, a 10 × 10 green square."""
    run = case(basic_results, "whole_image")["script_painted"]
    assert not run["raised"] and run["top"] == "Starry Night (whole image)", run
    assert run["green_pixels"] == 100, run


def test_the_whole_image_with_a_selection_repaints_the_selected_part(basic_results):
    run = case(basic_results, "whole_image")["selection"]
    assert not run["raised"] and run["name"] == "Starry Night (whole image)", run
    assert run["top"] == run["name"] and run["inside"] == 30 * 20, run
    assert run["outside_alpha"] == [0] and run["inside_same"], run
    x, y, w, h = run["bounds"]  # the selection and its context, no more
    assert 0 <= x <= 30 and 0 <= y <= 20 and x + w >= 60 and y + h >= 40 and (w, h) != (96, 64), run


def test_the_whole_image_needs_no_paint_layer_active(basic_results):
    """A group or a vector layer active, or none: the whole image is repainted all the same.
    That group, as the layer to repaint, holds only an empty layer: it shows nothing."""
    facts = case(basic_results, "whole_image")
    for key in ("group", "vector"):
        run = facts[key]
        assert not run["raised"] and run["top"] == "Starry Night (whole image)", (key, run)
    assert not facts["selection"]["raised"], "no active layer at all"
    as_layer = facts["group_as_layer"]
    assert as_layer["raised"] and as_layer["code"] == "empty_layer", as_layer
    assert "shows nothing" in as_layer["message"], as_layer


def _above(run, below: str) -> bool:
    """Whether the new layer lies right above ``below`` among its siblings."""
    siblings = run["siblings"]
    return below in siblings and siblings[siblings.index(below) + 1 : siblings.index(below) + 2] == [run["name"]]


def test_a_group_is_repainted_as_it_shows_its_layers(basic_results):
    """The group's visible layers merged with their opacity, before the group's own opacity, with
    a script's paint redrawn first; the new layer right above the group."""
    run = case(basic_results, "shown_layers")["group"]
    assert not run["raised"], run
    assert run["same_as_shown"] and _above(run, "Painting") and run["beside"], run
    assert run["bounds"] == [0, 0, 96, 56], run
    b, g, r, a = run["left"]
    assert r > 100 and g == 20 and b == 10 and a == 255, "Red, not dimmed by the group's opacity 100"
    b, g, r, a = run["right"]
    assert b > 90 and g == 20 and r == 10 and abs(a - 200 * 128 / 255) <= 2, "Blue, with its opacity merged"
    assert run["green_pixels"] == 100, "the script's green square is in it, the hidden Green is not"


@pytest.mark.parametrize(
    "key, code, words",
    [
        ("empty_group", "empty_layer", "“Empty group” shows nothing: it has nothing visible in it."),
        ("hidden_group", "hidden_layer", "“Painting” is hidden, and Krita does not keep what a hidden group shows"),
        ("pass_through", "unsupported_layer", "“Painting” is a pass-through group, which Krita gives no picture"),
    ],
)
def test_groups_with_no_picture_to_read_are_refused_before_the_engine_starts(basic_results, key, code, words):
    run = case(basic_results, "shown_layers")[key]
    assert run["raised"] and run["code"] == code and run["message"].startswith(words), run
    assert run["progress"] == 0 and run["nodes_after"] == run["nodes_before"], run


def test_clone_file_fill_and_vector_layers_are_repainted_as_shown(basic_results):
    facts = case(basic_results, "shown_layers")
    clone = facts["clone"]
    assert not clone["raised"] and clone["same_as_shown"] and _above(clone, "Red clone") and clone["beside"], clone
    assert clone["bounds"] == [20, 4, 48, 56] and clone["moved_red"], clone
    assert clone["sent_size"] == [48, 56], "only where the moved clone shows Red, not where Red is"
    picture = facts["file"]
    assert not picture["raised"] and picture["same_as_shown"] and _above(picture, "Picture"), picture
    assert picture["bounds"] == [0, 0, 30, 20] and picture["left"] == [160, 40, 200, 255], picture
    fill = facts["fill"]
    assert not fill["raised"] and fill["same_as_shown"] and _above(fill, "Fill"), fill
    assert fill["bounds"] == [5, 30, 30, 20] and fill["pixel"] == [20, 30, 230, 255], fill
    vector = facts["vector"]
    assert not vector["raised"] and vector["same_as_shown"] and _above(vector, "Shapes"), vector
    assert vector["bounds"] == [10, 8, 30, 20] and vector["green_pixels"] == 600, vector


def test_a_filter_layer_is_refused_with_what_to_select(basic_results):
    run = case(basic_results, "shown_layers")["filter"]
    assert run["raised"] and run["code"] == "unsupported_layer", run
    assert "is a filter layer" in run["message"] and "Repaint: The whole image" in run["message"], run
    assert run["progress"] == 0 and run["nodes_after"] == run["nodes_before"], run


def test_a_new_result_goes_above_the_earlier_results_of_the_same_layer(basic_results):
    facts = case(basic_results, "results_stack")
    assert facts["after_three"] == ["Background", "Paint", "First", "Second", "Third"], facts
    assert facts["after_four"] == ["Background", "Paint", "First", "Second", "Third", "Fourth"], facts
    assert facts["own_between"] == ["Background", "Paint", "Second", "Own", "First"], facts


def test_an_animated_layer_gives_the_frame_shown_named_after_it(basic_results):
    facts = case(basic_results, "animated")
    assert facts["time_switched"], "Krita did not switch the image to frame 3 within 20 s"
    assert facts["layer"] == {"raised": False, "name": "Starry Night (frame 3)", "animated": False}, facts
    assert facts["still"]["name"] == "Starry Night", "a layer without animation, in the same image"
    assert facts["image"]["name"] == "Starry Night (whole image, frame 3)", facts
    assert "Animated" not in facts["label_still"], facts
    for key in ("label_animated", "label_image"):
        assert facts[key].endswith("Animated: only the frame shown is repainted, into a layer that is not animated."), (
            facts
        )


def test_closing_the_dialog_mid_run_lets_the_run_finish(basic_results):
    """Minutes of painting are not thrown away because the dialog was in the way: Close hides it,
    the run goes on and adds its layer."""
    run = case(basic_results, "closed_mid_run")["done"]
    assert not run["visible_after_close"] and run["running_after_close"], run
    assert run["finished"] and run["ok"] and run["layers"] == ["Background", "Paint", "Starry Night"], run
    assert not run["visible_at_end"] and run["message"] == "Done: added the layer “Starry Night”.", run


def test_a_run_that_fails_after_close_brings_the_dialog_back_with_its_message(basic_results):
    facts = case(basic_results, "closed_mid_run")
    run = facts["failed"]
    assert run["finished"] and not run["ok"] and run["code"] == "layer_gone", run
    assert run["visible_at_end"] and "was deleted" in run["message"], "errors never pass silently"
    cancelled = facts["cancelled"]  # Cancel, then Close: what the painter asked for, not news
    assert cancelled["code"] == "cancelled" and not cancelled["visible_at_end"], cancelled
    assert not cancelled["closed_mid_run"], cancelled
    finished = facts["finished_now"]  # Finish now, then Close: the layer comes, and the painter hears of it
    assert finished["closed_mid_run"] and finished["finished"], finished
    assert facts["leftovers"] == [], facts


def test_the_dialog_says_at_once_when_the_engine_is_not_set_up(basic_results):
    facts = case(basic_results, "no_engine_at_open")
    assert facts["before_show"] == "" and not facts["standby"], facts
    assert facts["at_show"].startswith("The style transfer engine is not set up: run the installer ("), facts
    assert "python3 installer/install.py" in facts["at_show"] and "Engine box" in facts["at_show"], facts
    assert facts["after_setting_up"] == "", "no longer true once the engine is set up"


def test_a_result_waits_for_the_painters_stroke_to_end(basic_results):
    """Adding a layer makes Krita end every open stroke: a result must not cut the painter's
    brush stroke short or apply a transform that waits for Apply."""
    facts = case(basic_results, "waits_for_the_stroke")
    waited = facts["waited"]
    assert waited["ok"] and waited["layers"] == ["Background", "Paint", "Starry Night"], waited
    assert waited["checks"] == 4 and len(waited["said"]) == 1, "said once, added at the first idle look"
    assert waited["said"][0].startswith("Done painting: the layer is added as soon as you finish"), waited
    assert waited["krita_says_idle"], "Krita's own answer for an idle image, which stays usable"
    cancelled = facts["cancelled"]
    assert not cancelled["ok"] and cancelled["code"] == "cancelled", cancelled
    assert cancelled["layers"] == ["Background", "Paint"] and facts["leftovers"] == [], facts


def test_the_progress_bar_follows_the_time_left(basic_results):
    assert case(basic_results, "progress_bar")["bar"] == [25, 25, 99, 5]


def test_a_wrong_source_is_a_bad_option(basic_results):
    run = case(basic_results, "whole_image")["bad_source"]
    assert run["raised"] and run["code"] == "bad_option", run
    assert "'canvas'" in run["message"] and "image" in run["message"], run
    assert run["progress"] == 0 and run["nodes_after"] == run["nodes_before"], run


def test_an_image_that_shows_nothing_is_refused(basic_results):
    facts = case(basic_results, "whole_image")
    blank = facts["nothing_visible"]
    assert blank["raised"] and blank["code"] == "empty_layer", blank
    assert blank["message"].startswith("The image has nothing visible"), blank
    assert blank["progress"] == 0 and blank["nodes_after"] == blank["nodes_before"], blank


def test_during_a_whole_image_run_only_what_misplaces_the_result_counts(basic_results):
    """Deleting the active layer, painting, moving a layer or converting it is fine (the result is
    the image as it was at Stylise); cropping the image adds nothing and says why."""
    facts = case(basic_results, "whole_image_changes")
    deleted = facts["active_layer_deleted"]
    assert deleted["progress"] and not deleted["raised"], deleted
    assert deleted["top"] == "Starry Night (whole image)" and "Red" not in deleted["nodes_after"], deleted
    assert deleted["same_as_projection"] and deleted["same_as_after_change"] is False, deleted
    moved = facts["layer_moved"]
    assert moved["progress"] and not moved["raised"] and moved["blue_position"] == [10, 5], moved
    assert moved["top"] == "Starry Night (whole image)" and moved["same_as_projection"], moved
    converted_layer = facts["layer_converted"]
    assert converted_layer["progress"] and not converted_layer["raised"], converted_layer
    assert converted_layer["blue_depth"] == "U16" and converted_layer["same_as_projection"], converted_layer
    assert converted_layer["top"] == "Starry Night (whole image)", converted_layer
    cropped = facts["cropped"]
    assert cropped["raised"] and cropped["code"] == "image_resized", cropped
    assert cropped["nodes_after"] == cropped["nodes_before"] and facts["leftovers"] == [], cropped


def test_a_16_bit_image_is_repainted_whole_in_its_own_depth(basic_results):
    run = case(basic_results, "whole_image_changes")["sixteen_bit"]
    assert not run["raised"] and run["image_depth"] == "U16" and run["depth"] == "U16", run
    assert run["as_sent"], "each 16-bit value of the image as its high byte × 257"


def test_dialog_repaint_choice_is_shown_remembered_and_reaches_the_job(basic_results):
    facts = case(basic_results, "dialog_source")
    assert facts["choices"] == ["layer", "image"] and facts["default"] == "layer", facts
    assert facts["labels"] == ["This layer", "The whole image (as you see it)"], facts
    assert "all visible layers" in facts["tooltip"], facts
    assert facts["target_layer"] == "Repaints “Paint” (what shows on the canvas) into a new layer above it.", facts
    whole = "Repaints the whole image, as you see it, into a new layer at the top."
    assert facts["target_image"] == whole and facts["target_image_no_layer"] == whole, facts
    assert facts["target_image_selection"] == (
        "Repaints the selected part of the whole image, as you see it, into a new layer at the top."
    ), facts
    assert not facts["enabled_while_running"] and facts["enabled_after"], facts
    assert facts["remembered"] == "image" and facts["remembered_target"] == whole, facts
    run = facts["run"]
    assert run["code"] == "" and run["name"] == "Starry Night (whole image)", run
    assert run["top"] == run["name"] and run["bounds"] == [0, 0, 96, 64], run
    assert facts["leftovers"] == [], facts
