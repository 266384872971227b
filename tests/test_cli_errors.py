"""Bad input: a clear one-line error with a stable code, the right exit code, and nothing written."""

import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import run_engine

FAST = ["--max-size", "64", "--iterations", "2", "--progress", "json"]


@pytest.fixture
def files(tmp_path, small_images):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    png = tmp_path / "ok.png"
    Image.open(small_images["tubingen"]).save(png)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(png.read_bytes()[: png.stat().st_size // 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    one = tmp_path / "one.png"
    Image.new("RGB", (1, 1)).save(one)
    strip = tmp_path / "strip.png"
    Image.new("RGB", (400, 20)).save(strip)  # 64x3 at the tests' working size of 64
    huge = tmp_path / "huge.png"
    Image.new("1", (12000, 9000)).save(huge)  # 108 megapixels, a few kilobytes on disk
    mask = tmp_path / "mask.png"
    Image.new("L", (10, 10), 255).save(mask)
    named_like_a_preview = tmp_path / "out.preview.png"  # where a run writing out.png puts its previews
    Image.open(small_images["starry_night"]).save(named_like_a_preview)
    wrong_weights = tmp_path / "wrong.h5"
    wrong_weights.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 1000)
    return {
        "text": text,
        "ok": png,
        "truncated": truncated,
        "one": one,
        "strip": strip,
        "empty": empty,
        "huge": huge,
        "mask": mask,
        "style": small_images["starry_night"],
        "wrong_weights": wrong_weights,
        "named_like_a_preview": named_like_a_preview,
        "out": tmp_path / "out.png",
    }


CASES = {
    "missing content": (["--content", "{tmp}/nope.png"], "input_missing", 2),
    "not an image": (["--content", "{text}"], "input_unreadable", 2),
    "truncated image": (["--content", "{truncated}"], "input_unreadable", 2),
    "zero-byte file": (["--content", "{empty}"], "input_unreadable", 2),
    "one pixel": (["--content", "{one}"], "image_too_small", 2),
    "absurdly large": (["--content", "{huge}"], "image_too_large", 2),
    "mask of the wrong size": (["--mask", "{mask}"], "mask_size_mismatch", 2),
    "weights without styles to match": (["--style-weights", "0.5,0.5"], "bad_option", 2),
    "negative iterations": (["--iterations", "-5"], "bad_option", 2),
    "NaN learning rate": (["--preset", "tutorial", "--learning-rate", "nan"], "bad_option", 2),
    "negative strength": (["--strength", "-1"], "bad_option", 2),
    "missing output folder": (["--output", "{tmp}/no/such/dir/out.png"], "output_unwritable", 2),
    "unwritable output folder": (["--output", "/proc/out.png"], "output_unwritable", 2),
    "unknown option": (["--colour", "red"], "usage", 2),
    "memory size without a unit we know": (["--max-memory", "lots"], "usage", 2),
    "memory ceiling too low": (["--max-memory", "500M"], "memory_too_small", 2),
    "tiny tiles": (["--tile-size", "8"], "bad_option", 2),
    "negative preview seconds": (["--preview-every", "2", "--preview-seconds", "-1"], "bad_option", 2),
    "negative seed": (["--seed", "-1", "--init", "noise"], "bad_option", 2),
    "an output format that takes no colour": (["--output", "{tmp}/out.xbm"], "output_unwritable", 2),
    "preview over the output": (["--preview-every", "1", "--preview-path", "{out}"], "bad_option", 2),
    "preview over the content": (["--preview-every", "1", "--preview-path", "{ok}"], "bad_option", 2),
    "default preview over the style": (
        ["--style", "{named_like_a_preview}", "--preview-every", "1"],
        "bad_option",
        2,
    ),
    "weights of the wrong hash": (["--weights", "{wrong_weights}"], "weights_invalid", 3),
    "weights file missing": (["--weights", "{tmp}/none.h5"], "weights_missing", 3),
    "content name too long": (["--content", "{tmp}/" + "c" * 300 + ".png"], "input_unreadable", 2),
    "output name too long": (["--output", "{tmp}/" + "o" * 300 + ".png"], "output_unwritable", 2),
    "no room for the output's temporary name": (["--output", "{tmp}/" + "o" * 248 + ".png"], "output_unwritable", 2),
    "preview name too long": (
        ["--preview-every", "1", "--preview-path", "{tmp}/" + "p" * 300 + ".png"],
        "output_unwritable",
        2,
    ),
    "weights name too long": (["--weights", "{tmp}/" + "w" * 300 + ".h5"], "weights_missing", 3),
    "default preview over a file of the user's": (
        ["--output", "{tmp}/out.png", "--preview-every", "1"],
        "bad_option",
        2,
    ),
    "an abbreviated option": (["--prog", "json"], "usage", 2),
    "Adam's learning rate for L-BFGS": (["--preset", "balanced", "--learning-rate", "3"], "bad_option", 2),
    "L-BFGS's history for Adam": (["--preset", "tutorial", "--lbfgs-memory", "5"], "bad_option", 2),
    "L-BFGS's pixel scaling for Adam": (["--preset", "tutorial", "--no-lbfgs-pixel-scaling"], "bad_option", 2),
    "an unknown Gram gradient": (["--gram-gradient", "fast"], "usage", 2),
}


@pytest.fixture(scope="module")
def without_tensorflow(tmp_path_factory) -> dict[str, str]:
    """An environment in which importing TensorFlow fails: input errors must come before it."""
    folder = tmp_path_factory.mktemp("no-tensorflow")
    (folder / "tensorflow").mkdir()
    (folder / "tensorflow" / "__init__.py").write_text("raise ImportError('TensorFlow imported before the checks')\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_its_code_and_a_one_line_message(case, files, tmp_path, without_tensorflow):
    """Each one before TensorFlow is imported: it takes seconds to load, and the painter waits."""
    extra, code, exit_code = CASES[case]
    values = {**{k: str(v) for k, v in files.items()}, "tmp": str(tmp_path)}
    extra = [part.format(**values) for part in extra]
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", files["out"], *FAST]
    # Later options override earlier ones, so the case's own value wins.
    result = run_engine(*args, *extra, env=without_tensorflow)
    assert result.returncode == exit_code, result.stderr
    assert [e["event"] for e in result.events] == ["error"]
    assert result.last["code"] == code
    assert result.last["exit_code"] == exit_code
    message = result.last["message"]
    assert "\n" not in message and 20 < len(message) < 400 + max(map(len, extra))  # it may quote a path
    assert "Traceback" not in result.stderr
    assert not files["out"].exists()


WHICH_INPUT = {  # extra arguments -> the error's "input", "path" and "index" fields (None: not in the event)
    "missing content": (["--content", "{tmp}/nope.png"], "content", "{tmp}/nope.png", None),
    # the run's own --style comes first (index 0): these add the second and third
    "second style unreadable": (["--style", "{text}"], "style", "{text}", 1),
    "third style truncated": (["--style", "{style}", "--style", "{truncated}"], "style", "{truncated}", 2),
    "one-pixel content": (["--content", "{one}"], "content", "{one}", None),
    "mask of the wrong size": (["--mask", "{mask}"], "mask", None, None),
    "second style too narrow at the working size": (["--style", "{strip}"], "style", None, 1),
    "unwritable output": (["--output", "{tmp}/no/such/dir/out.png"], None, None, None),
}


@pytest.mark.parametrize("case", WHICH_INPUT)
def test_an_error_about_an_image_says_which_image(case, files, tmp_path, without_tensorflow):
    """A front end that wrote the content and the mask itself tells their failures from the
    user's style image by the event's ``input`` field, not by the message's wording."""
    extra, role, path, index = WHICH_INPUT[case]
    values = {**{k: str(v) for k, v in files.items()}, "tmp": str(tmp_path)}
    extra = [part.format(**values) for part in extra]
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", files["out"], *FAST]
    event = run_engine(*args, *extra, env=without_tensorflow).last
    assert event["event"] == "error" and event.get("input") == role, event
    assert event.get("path") == (None if path is None else path.format(**values)), event
    assert event.get("index") == index, event


def test_a_usage_error_names_the_help_that_exists():
    for args, command in (
        ([], "nst-engine"),
        (["run", "--bogus"], "nst-engine run"),
        (["weights", "fetch", "--bogus"], "nst-engine weights fetch"),
    ):
        result = run_engine(*args, "--progress", "json") if args else run_engine()
        assert result.returncode == 2
        message = result.last["message"] if result.events else result.stderr
        assert f"(see `{command} --help`)" in message, message


def test_the_stand_in_for_a_missing_tensorflow_is_seen(files, without_tensorflow):
    """The check above means something: with valid input the engine does reach TensorFlow there."""
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", files["out"], *FAST]
    result = run_engine(*args, env=without_tensorflow)
    assert result.returncode == 1 and "TensorFlow imported before the checks" in result.last["message"]


def test_missing_weights_everywhere_says_how_to_get_them(files, tmp_path):
    env = {"KERAS_HOME": str(tmp_path / "empty-keras"), "NST_VGG19_WEIGHTS": ""}
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", files["out"], *FAST]
    result = run_engine(*args, env=env)
    assert result.returncode == 3
    assert result.last["code"] == "weights_missing"
    assert "nst-engine weights fetch" in result.last["message"]


def test_human_mode_prints_the_message_on_stderr_and_nothing_on_stdout(files):
    result = run_engine("run", "--content", files["text"], "--style", files["style"], "--output", files["out"])
    assert result.returncode == 2
    assert result.stdout == ""
    assert "not an image" in result.stderr


def test_existing_output_survives_a_failed_run(files):
    files["out"].write_bytes(b"precious")
    result = run_engine("run", "--content", files["one"], "--style", files["style"], "--output", files["out"], *FAST)
    assert result.returncode == 2
    assert files["out"].read_bytes() == b"precious"


def test_inputs_survive_a_preview_path_that_names_them(files):
    before = files["ok"].read_bytes()
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", files["out"], *FAST]
    result = run_engine(*args, "--preview-every", "1", "--preview-path", files["ok"])
    assert result.returncode == 2 and "--content" in result.last["message"]
    assert files["ok"].read_bytes() == before and not files["out"].exists()


def test_jpeg_output_is_refused_for_transparent_content(files, tmp_path):
    rgba = tmp_path / "rgba.png"
    pixels = np.zeros((64, 64, 4), dtype=np.uint8)
    pixels[:32, :, 3] = 255
    Image.fromarray(pixels).save(rgba)
    result = run_engine("run", "--content", rgba, "--style", files["style"], "--output", tmp_path / "o.jpg", *FAST)
    assert result.returncode == 2 and result.last["code"] == "output_unwritable"


@pytest.fixture
def full_disk(tmp_path):
    """A folder on a 256 KiB tmpfs, to be filled up by the test (needs root, as in CI)."""
    folder = tmp_path / "full-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.weights
def test_a_disk_full_at_the_end_keeps_the_old_output(files, full_disk, weights_path):
    """The run checks the folder at its start; the disk can fill up while it works. The old output
    must survive whole, no half-written file may be left, and the message must say what to do."""
    output = full_disk / "out.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(output)
    before = output.read_bytes()
    with open(full_disk / "filler", "wb", buffering=0) as filler:  # take every block that is left
        with pytest.raises(OSError, match="No space left"):
            while True:
                filler.write(b"\0" * 4096)
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", output, *FAST]
    result = run_engine(*args, "--weights", weights_path)
    assert result.returncode == 2, result.stderr
    assert result.last["event"] == "error" and result.last["code"] == "output_unwritable"
    assert "free some disk space" in result.last["message"] and "\n" not in result.last["message"]
    assert "progress" in [e["event"] for e in result.events]  # it failed at the end, not at the start
    assert "Traceback" not in result.stderr
    assert output.read_bytes() == before
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "out.png"]


@pytest.mark.weights
def test_a_disk_full_for_the_preview_stops_the_run_with_a_message(files, full_disk, weights_path):
    """The preview's folder was writable at the start and fills up during the run: the run stops
    with the preview's name and what to do (not an internal error), and writes no output."""
    with open(full_disk / "filler", "wb", buffering=0) as filler:
        with pytest.raises(OSError, match="No space left"):
            while True:
                filler.write(b"\0" * 4096)
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", files["out"], *FAST]
    preview = full_disk / "preview.png"
    result = run_engine(*args, "--weights", weights_path, "--preview-every", "1", "--preview-path", preview)
    assert result.returncode == 2, result.stderr
    assert result.last["event"] == "error" and result.last["code"] == "output_unwritable"
    assert "preview" in result.last["message"] and "\n" not in result.last["message"]
    assert "Traceback" not in result.stderr
    assert not files["out"].exists() and sorted(p.name for p in full_disk.iterdir()) == ["filler"]


@pytest.mark.weights
@pytest.mark.parametrize("error", ["tensorflow", "python", "cudnn"])
def test_running_out_of_memory_says_what_to_do(error, files, weights_path, monkeypatch, capsys):
    """An allocation that fails inside the run (TensorFlow's OOM on the CPU or the GPU, or Python's)
    is not a bug to report: one line says how to make the run smaller, with its own code."""
    import io

    import tensorflow as tf

    from nst_engine import cli, run
    from nst_engine.progress import JsonReporter

    def exhausted(*args, **kwargs):
        if error == "python":
            raise MemoryError()
        if error == "cudnn":  # how a GPU's failed allocation can come out of a copy to the device
            raise tf.errors.InternalError(None, None, "Dst tensor is not initialized.")
        raise tf.errors.ResourceExhaustedError(
            None, None, "OOM when allocating tensor with shape[1,64,1024,1024] and type float on /job:localhost"
        )

    monkeypatch.setattr(run, "execute", exhausted)
    monkeypatch.setattr(cli.Interruptions, "install", lambda self: None)  # keep pytest's own signal handlers
    stream = io.StringIO()
    monkeypatch.setattr(cli, "_make_reporter", lambda argv: JsonReporter(stream))
    args = ["run", "--content", files["ok"], "--style", files["style"], "--output", files["out"], *FAST]
    exit_code = cli.main([str(arg) for arg in [*args, "--weights", weights_path]])
    (last,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert exit_code == 1 and last["event"] == "error" and last["code"] == "out_of_memory"
    message = last["message"]
    assert message.startswith("out of memory:") and "\n" not in message
    assert "--max-size" in message and "--max-memory" in message and "--full-resolution" in message
    assert "please report" not in message and "internal error" not in message
    assert "Traceback" not in capsys.readouterr().err
    assert not files["out"].exists()


def test_only_failed_allocations_count_as_out_of_memory():
    """TensorFlow's words for a failed allocation make an InternalError one; a GPU error that is
    not about memory, or a Python error that only mentions it, stays an internal error to report."""
    import tensorflow as tf

    from nst_engine.cli import _is_out_of_memory

    assert _is_out_of_memory(tf.errors.UnknownError(None, None, "CUDA_ERROR_OUT_OF_MEMORY: out of memory"))
    assert not _is_out_of_memory(tf.errors.InternalError(None, None, "cuDNN launch failure : input shape"))
    assert not _is_out_of_memory(ValueError("out of memory"))
