"""End-to-end runs of the real engine with the real VGG19 weights, through the CLI, on small images."""

import os
import signal
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import engine_command, parse_events, read_rgba, run_engine

pytestmark = pytest.mark.weights


def grey(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., :3] @ np.array([0.299, 0.587, 0.114])


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def real_run(weights_path, small_images, tmp_path_factory):
    """One real run of the default preset, coarse to fine, shared by the tests below: 128 px, 40 evaluations."""
    folder = tmp_path_factory.mktemp("run")
    output, preview = folder / "out.png", folder / "preview.png"
    result = run_engine(
        "run",
        "--content", small_images["tubingen"],
        "--style", small_images["starry_night"],
        "--output", output,
        "--max-size", "128",
        "--scales", "0.5,1",
        "--iterations", "40",
        "--preview-every", "10",
        "--preview-path", preview,
        "--progress", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result, output, preview


def test_events_parse_and_arrive_in_order(real_run):
    result, output, _ = real_run
    kinds = [event["event"] for event in result.events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"progress", "preview"}
    start = result.events[0]
    assert start["protocol"] == 1 and start["iterations"] == 40
    assert start["device"] == "CPU" or start["device"].startswith("GPU:")
    assert start["content_size"] == [128, 96] and start["work_size"] == [128, 96]
    assert start["stage_sizes"] == [[64, 48], [128, 96]] and start["optimizer"] == "lbfgs"
    from nst_engine import conv_gradient

    assert start["conv_gradient"] == conv_gradient.resolve("auto", "CPU")  # this machine's choice, named
    iterations = [e["iteration"] for e in result.of("progress")]
    assert iterations == list(range(1, 41))
    stages = [e["stage"] for e in result.of("progress")]
    assert stages == sorted(stages) and stages[0] == 1 and stages[-1] == 2
    assert all(e["total"] == 40 and e["stages"] == 2 and e["eta"] >= 0 for e in result.of("progress"))
    elapsed = [e["elapsed"] for e in result.of("progress")]
    assert elapsed == sorted(elapsed) and result.of("progress")[-1]["eta"] == 0
    assert [e["iteration"] for e in result.of("preview")] == [10, 20, 30]
    # Each preview line follows the progress line of its iteration.
    for index, event in enumerate(result.events):
        if event["event"] == "preview":
            assert result.events[index - 1] == {**result.events[index - 1], "iteration": event["iteration"]}
    assert result.last["output"] == str(output) and result.last["finished_early"] is False


def test_a_real_run_lowers_the_style_loss_and_keeps_the_content(real_run, small_images, weights_path):
    from nst_engine.objective import Objective, build_extractor

    result, output, preview = real_run
    first = result.of("progress")[0]  # it starts from the content image (bfloat16 rounding aside)
    assert first["content_loss"] < 1e-4 * first["style_loss"]
    content = read_rgba(small_images["tubingen"])
    style = read_rgba(small_images["starry_night"])
    result_pixels = read_rgba(output)
    assert result_pixels.shape == content.shape
    assert np.abs(result_pixels - content)[..., :3].mean() > 10  # it changed visibly
    assert correlation(grey(result_pixels), grey(content)) > 0.5  # and is still the same scene
    assert Image.open(preview).size in [(64, 48), (128, 96)]
    # Measured independently, with the tutorial's objective at the working size:
    objective = Objective(build_extractor(str(weights_path)), content[..., :3], [style[..., :3]], [1], 1e3, 1e-2, 0)
    initial, final = objective.evaluate(content[..., :3]), objective.evaluate(result_pixels[..., :3])
    assert final.style < 0.2 * initial.style
    assert final.total < 0.3 * initial.total


def test_output_keeps_odd_sizes_and_alpha(weights_path, small_images, tmp_path):
    pixels = np.asarray(Image.open(small_images["tubingen"]).convert("RGBA").resize((101, 67))).copy()
    pixels[:, :30, 3] = 0
    pixels[:, 30:60, 3] = 128
    content = tmp_path / "content.png"
    Image.fromarray(pixels).save(content)
    output = tmp_path / "out.png"
    result = run_engine(
        "run", "--content", content, "--style", small_images["the_scream"], "--output", output,
        "--max-size", "64", "--iterations", "5", "--progress", "none",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = np.asarray(Image.open(output))
    assert saved.shape == (67, 101, 4)
    np.testing.assert_array_equal(saved[..., 3], pixels[..., 3])


def test_mask_cutout_and_blend(weights_path, small_images, tmp_path):
    mask = np.zeros((96, 128), dtype=np.uint8)
    mask[:, 64:] = 255
    mask[:, 60:64] = 128
    Image.fromarray(mask).save(tmp_path / "mask.png")
    content = read_rgba(small_images["tubingen"])
    common = ["--content", small_images["tubingen"], "--style", small_images["starry_night"], "--max-size", "64"]
    common += ["--iterations", "10", "--mask", tmp_path / "mask.png", "--progress", "none"]
    assert run_engine("run", *common, "--output", tmp_path / "b.png").returncode == 0
    assert run_engine("run", *common, "--mask-output", "cutout", "--output", tmp_path / "c.png").returncode == 0
    blend, cutout = read_rgba(tmp_path / "b.png"), read_rgba(tmp_path / "c.png")
    np.testing.assert_array_equal(blend[:, :60], content[:, :60])  # untouched outside
    assert np.abs(blend[:, 64:, :3] - content[:, 64:, :3]).mean() > 5  # stylised inside
    assert np.all(cutout[:, :60, 3] == 0) and np.all(cutout[:, 64:, 3] == 255)
    assert np.all(np.abs(cutout[:, 60:64, 3] - 128) <= 1)


def test_preserve_colors_keeps_the_content_chroma(weights_path, small_images, tmp_path):
    from nst_engine.colors import rgb_to_ycbcr

    output = tmp_path / "out.png"
    result = run_engine(
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", output, "--max-size", "64", "--iterations", "10", "--preserve-colors", "--progress", "none",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    content, styled = read_rgba(small_images["tubingen"])[..., :3], read_rgba(output)[..., :3]
    chroma_error = np.abs(rgb_to_ycbcr(styled)[..., 1:] - rgb_to_ycbcr(content)[..., 1:])
    assert np.median(chroma_error) < 2.0
    assert np.abs(styled - content).mean() > 3


def test_two_styles_with_weights_and_seeded_noise_are_reproducible(weights_path, small_images, tmp_path):
    args = [
        "run", "--content", small_images["tubingen"],
        "--style", small_images["starry_night"], "--style", small_images["the_scream"],
        "--style-weights", "0.7,0.3", "--init", "noise", "--seed", "7", "--scales", "1",
        "--max-size", "64", "--iterations", "8", "--progress", "json",
    ]  # fmt: skip
    first = run_engine(*args, "--output", tmp_path / "a.png")
    second = run_engine(*args, "--output", tmp_path / "b.png")
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert len(first.events[0]["style_sizes"]) == 2
    np.testing.assert_array_equal(read_rgba(tmp_path / "a.png"), read_rgba(tmp_path / "b.png"))
    losses = [e["loss"] for e in first.of("progress")]
    assert first.of("progress")[0]["content_loss"] > 0  # noise is not the content
    assert min(losses) < 0.5 * losses[0]


def test_style_weights_and_strength_change_the_result(weights_path, small_images, tmp_path):
    """Weights 1,0 give the first style's result and 0,1 another; more strength ends nearer the
    style's statistics and further from the content."""
    base = ["run", "--content", small_images["tubingen"], "--scales", "1", "--max-size", "64", "--iterations", "16"]
    both = ["--style", small_images["starry_night"], "--style", small_images["the_scream"]]

    def result(name, *extra):
        done = run_engine(*base, *extra, "--output", tmp_path / name, "--progress", "json")
        assert done.returncode == 0, done.stderr
        return read_rgba(tmp_path / name)[..., :3], done.of("progress")[-1]

    starry, _ = result("starry.png", "--style", small_images["starry_night"])
    np.testing.assert_allclose(result("1-0.png", *both, "--style-weights", "1,0")[0], starry, atol=1)
    assert np.abs(result("0-1.png", *both, "--style-weights", "0,1")[0] - starry).mean() > 5
    # The balance shows once the style term no longer dwarfs the content term: 40 evaluations (at
    # 64 px, 2026-12-07, 2-core AVX2 AMD EPYC: content 4.4e6 against 8.6e6, Gram distance 5.1e7
    # against 3.8e7).
    longer = ["--iterations", "40", "--style", small_images["starry_night"], "--strength"]
    _, weak = result("weak.png", *longer, "0.1")
    _, strong = result("strong.png", *longer, "10")
    # the reported style loss carries the strength as a weight: divided out, the Gram distance
    assert strong["style_loss"] / 10 < 0.9 * weak["style_loss"] / 0.1, (strong, weak)
    assert strong["content_loss"] > 1.3 * weak["content_loss"], (strong, weak)


def _start_and_wait_for_progress(args, iteration=2):
    process = subprocess.Popen(
        engine_command(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if '"progress"' in line and parse_events(line)[0]["iteration"] >= iteration:
            return process, lines
    raise AssertionError("engine ended before it made progress: " + process.stderr.read())


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "stdin closed"])
def test_cancellation_writes_nothing(how, weights_path, small_images, tmp_path):
    output = tmp_path / "out.png"
    output.write_bytes(b"the painter's old file")
    args = [
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", output, "--max-size", "128", "--iterations", "500", "--preview-every", "1",
        "--progress", "json",
    ]  # fmt: skip
    process, lines = _start_and_wait_for_progress(args)
    if how == "stdin closed":
        process.stdin.close()
    else:
        process.send_signal(getattr(signal, how))
    process.wait(timeout=60)
    rest, stderr = process.stdout.read(), process.stderr.read()
    events = parse_events("".join(lines) + rest)
    assert process.returncode == 4, stderr
    assert events[-1]["event"] == "error" and events[-1]["code"] == "cancelled"
    assert events[-2]["iteration"] < 100
    assert output.read_bytes() == b"the painter's old file"
    assert sorted(os.listdir(tmp_path)) == ["out.png"]  # no preview, no temporary files


@pytest.mark.parametrize(
    "extra, close_stdin",
    [
        ([], False),
        (["--preset", "tutorial"], True),
        (["--scales", "0.5,1"], False),
        (["--tile-size", "80"], False),
    ],
    ids=["lbfgs", "adam-then-stdin-closed", "coarse-to-fine-in-first-stage", "tiled-in-first-tile"],
)
def test_finish_writes_the_image_as_it_is_now(extra, close_stdin, weights_path, small_images, tmp_path):
    """A `finish` line on stdin: optimising stops at the next evaluation and the run ends as a
    finished one, with the image as the last preview showed it, at the content's size; closing
    stdin after it does not turn it into a cancel."""
    output, preview = tmp_path / "out.png", tmp_path / "preview.png"
    args = [
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", output, "--max-size", "128", "--iterations", "500", "--preview-every", "1",
        "--preview-path", preview, "--progress", "json", *extra,
    ]  # fmt: skip
    process, lines = _start_and_wait_for_progress(args, iteration=8)
    process.stdin.write("finish\n")
    process.stdin.flush()
    if close_stdin:
        process.stdin.close()
    process.wait(timeout=60)
    rest, stderr = process.stdout.read(), process.stderr.read()
    events = parse_events("".join(lines) + rest)
    assert process.returncode == 0, stderr
    assert events[-1]["event"] == "done" and events[-1]["finished_early"] is True
    assert events[0]["optimizer"] == ("adam" if "tutorial" in extra else "lbfgs")
    progress = [event for event in events if event["event"] == "progress"]
    assert progress[-1]["iteration"] < 100
    assert {event["stage"] for event in progress} == {1} and {event["tile"] for event in progress} == {1}
    if "--tile-size" in extra:
        assert events[0]["stage_tiles"][0] > 1
    assert "finishing as asked" in stderr
    content = read_rgba(small_images["tubingen"])
    result, last_preview = read_rgba(output), read_rgba(preview)
    assert result.shape == content.shape  # coarse to fine: the first stage's image, scaled up
    if "--scales" not in extra:  # the preview is at the stage's size, here the content's
        moved = np.abs(result - content)[..., :3].mean()
        assert moved > 1.0  # painting had begun (in the first tile only, when tiled)...
        assert np.abs(result - last_preview)[..., :3].mean() < 0.5 * moved  # ...and stopped where it was


@pytest.mark.parametrize("seconds, previews", [("0", [1, 2, 3, 4, 5]), ("3600", [1])])
def test_preview_seconds_keeps_previews_apart(seconds, previews, weights_path, small_images, tmp_path):
    """`--preview-seconds` drops a due preview when the last one is more recent than that (on a
    fast GPU they would otherwise cost nearly as much as the evaluations); 0 keeps every one."""
    result = run_engine(
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", tmp_path / "out.png", "--max-size", "64", "--iterations", "6",
        "--preview-every", "1", "--preview-seconds", seconds, "--progress", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [event["iteration"] for event in result.of("preview")] == previews


def test_human_progress_goes_to_stderr(weights_path, small_images, tmp_path):
    result = run_engine(
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", tmp_path / "o.png", "--max-size", "64", "--iterations", "3",
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stdout == ""
    assert "iteration 3/3" in result.stderr and "done in" in result.stderr


def _run_changed_after_checks(args, change):
    """Run the engine; call ``change()`` once it has checked its paths (seconds before the first
    preview). Its exit code, stderr and JSON events."""
    process = subprocess.Popen(
        engine_command(*args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stderr = ""
    for line in process.stderr:
        stderr += line
        if "loading TensorFlow" in line:
            break
    change()
    stderr += process.stderr.read()  # the run's few events fit in the stdout pipe meanwhile
    events = parse_events(process.stdout.read())
    process.wait(timeout=60)
    return process.returncode, stderr, events


def test_a_preview_folder_that_is_gone_stops_the_run_at_once(weights_path, small_images, tmp_path):
    """A folder deleted under the run fails the output too, later: better said at the first preview."""
    folder = tmp_path / "previews"
    folder.mkdir()
    args = [
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", tmp_path / "out.png", "--max-size", "64", "--iterations", "40", "--preview-every", "1",
        "--preview-path", folder / "p.png", "--progress", "json",
    ]  # fmt: skip
    returncode, stderr, events = _run_changed_after_checks(args, folder.rmdir)
    assert returncode == 2, stderr
    assert events[-1]["event"] == "error" and events[-1]["code"] == "output_unwritable", events[-1]
    assert f"could not write the preview {folder / 'p.png'} " in events[-1]["message"]
    assert max(e["iteration"] for e in events if e["event"] == "progress") == 1  # at the first preview
    assert not (tmp_path / "out.png").exists()


def _hold(path):
    """Put a folder with a file in it where the engine writes `path`: like a file that another
    program has open on Windows (Krita reading the preview, a virus scanner), it cannot be replaced."""
    path.mkdir()
    (path / "held").write_text("in use")


@pytest.mark.parametrize("held", [["preview"], ["preview", "output"]])
def test_a_preview_that_cannot_be_written_does_not_stop_the_run(held, weights_path, small_images, tmp_path):
    """A preview that cannot be replaced is skipped with one line on stderr, and the run goes on
    (the next one tries again); its end, removing the default preview, cannot fail either. The
    output still must be written: one that cannot be fails the run, at its end."""
    output, preview = tmp_path / "out.png", tmp_path / "out.preview.png"  # the default preview path
    args = [
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", output, "--max-size", "64", "--iterations", "4", "--preview-every", "1", "--progress", "json",
    ]  # fmt: skip
    returncode, stderr, events = _run_changed_after_checks(
        args, lambda: [_hold({"preview": preview, "output": output}[name]) for name in held]
    )
    assert "Traceback" not in stderr
    assert stderr.count("could not write the preview") == 1, stderr
    assert "preview" not in [event["event"] for event in events]
    progress = [event for event in events if event["event"] == "progress"]
    assert progress[-1]["iteration"] == progress[-1]["total"] == 4  # every evaluation ran
    assert sorted(os.listdir(tmp_path)) == ["out.png", "out.preview.png"]  # no temporary file left
    assert os.listdir(preview) == ["held"]
    if "output" in held:
        assert returncode == 2, stderr
        assert events[-1]["event"] == "error" and events[-1]["code"] == "output_unwritable"
        assert f"could not write the output {output} " in events[-1]["message"]
    else:
        assert returncode == 0, stderr
        assert events[-1]["event"] == "done" and events[-1]["output"] == str(output)
        assert Image.open(output).size == Image.open(small_images["tubingen"]).size
