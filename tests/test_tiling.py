"""Large images in tiles, on real runs: style targets summed piece by piece match the whole image's,
tiled results show no seams, progress covers every tile, and cancelling stops inside a tile."""

import signal
import subprocess

import numpy as np
import pytest

from conftest import engine_command, parse_events, read_rgba
from nst_engine import schedule
from nst_engine.settings import preset

pytestmark = pytest.mark.weights


@pytest.fixture(scope="module")
def extractor(weights_path):
    from nst_engine.objective import build_extractor

    return build_extractor(str(weights_path))


@pytest.fixture(scope="module")
def images():
    from PIL import Image

    from conftest import EXAMPLES

    def load(name, size):
        image = Image.open(EXAMPLES / f"{name}.jpg").convert("RGB").resize(size, Image.LANCZOS)
        return np.asarray(image, dtype=np.float32)

    return load("tubingen", (192, 144)), load("starry_night", (256, 160))


@pytest.mark.parametrize("size", [(256, 160), (262, 164)])  # the second: sides just past a multiple of 16
def test_style_gram_in_pieces_matches_the_whole_image(extractor, size):
    from PIL import Image

    from conftest import EXAMPLES
    from nst_engine.objective import style_gram

    image = Image.open(EXAMPLES / "starry_night.jpg").convert("RGB").resize(size, Image.LANCZOS)
    style = np.asarray(image, dtype=np.float32)
    whole = style_gram(extractor, style)
    assert style.shape[0] * style.shape[1] > 3 * 96 * 96  # so it is summed in pieces
    pieces = style_gram(extractor, style, tile_pixels=96 * 96)
    for layer, (a, b) in enumerate(zip(whole, pieces)):
        a, b = a.numpy(), b.numpy()
        error = np.linalg.norm(a - b) / np.linalg.norm(a)
        assert error < 0.01, f"style layer {layer}: pieces differ from the whole by {error:.1%}"


def seam_lines(stage):
    """Every column and row where a tile starts, ends, or has the middle of its blend strip."""
    half = stage.overlap // 2
    xs, ys = set(), set()
    for boxes in stage.boxes():
        for x0, y0, x1, y1 in boxes:
            xs |= {x for x in (x0, x1, x0 + half, x1 - half) if 0 < x < stage.size[0]}
            ys |= {y for y in (y0, y1, y0 + half, y1 - half) if 0 < y < stage.size[1]}
    return sorted(xs), sorted(ys)


def seam_report(image, stage, content):
    """Per axis: gradient energy across seam lines over that of their neighbours (texture breaks),
    and the mean colour step across seam lines over the mean step across every other line
    (tiles drifting apart in colour).

    Colour steps are measured in what the optimisation changed (image − content), so that an edge
    of the content's own that happens to lie on a seam line is not taken for a seam; and averaged
    over all seam lines, because a tiling fault repeats at every seam while one strong brush
    stroke on one line is chance.
    """
    report = []
    for axis, lines in zip((1, 0), seam_lines(stage)):
        differences = np.diff(image, axis=axis)  # index i is the step from line i to line i + 1
        energy = np.abs(differences).sum(-1).mean(1 - axis)
        ratios = []
        for line in lines:
            i = line - 1
            neighbours = [energy[j] for j in range(max(0, i - 6), min(len(energy), i + 7)) if abs(j - i) > 1]
            ratios.append(energy[i] / np.mean(neighbours))
        steps = np.abs(np.diff(image - content, axis=axis).mean(1 - axis)).max(-1)
        seam_steps = [steps[line - 1] for line in lines]
        other = [steps[i] for i in range(len(steps)) if i + 1 not in lines]
        report.append((float(np.mean(ratios)), float(np.mean(seam_steps) / np.mean(other))))
    return report


def drifted(image, stage, axis, levels):
    """`image` with every other band between seam lines brighter by `levels`: tiles out of step."""
    lines = seam_lines(stage)[1 - axis]
    edges = [0, *lines, image.shape[1 - axis]]
    out = image.copy()
    for band, (start, end) in enumerate(zip(edges, edges[1:])):
        if band % 2:
            if axis == 1:
                out[:, start:end] += levels
            else:
                out[start:end, :] += levels
    return out


def test_a_tiled_run_shows_no_seams(extractor, images):
    from nst_engine import transfer

    content, style = images
    settings = preset("balanced", max_size=192, iterations=(10,), tile_size=96, precision="float32")
    stages = schedule.plan((192, 144), [(256, 160)], settings)
    (stage,) = stages
    assert stage.tiled and [len(boxes) for boxes in stage.boxes()] == [6, 14]
    steps = []
    result = transfer.stylize(extractor, content, [style], [1.0], settings, stages, steps.append)
    assert result.shape == content.shape
    assert [s.tile for s in steps] == [t for t in range(1, 21) for _ in range(stage.iterations)]
    assert steps[-1].work_done == steps[-1].work_total
    for axis, (energy_ratio, step_ratio) in zip("xy", seam_report(result, stage, content)):
        assert energy_ratio < 1.1, f"{axis}: texture changes across tile seams ({energy_ratio:.2f}x)"
        assert step_ratio < 1.3, f"{axis}: colour steps along tile seams ({step_ratio:.2f}x the usual)"
    # The check can fail: tiles 3 levels (of 255) out of step with their neighbours are caught.
    for axis in (1, 0):
        _, step_ratio = seam_report(drifted(result, stage, axis, 3.0), stage, content)[1 - axis]
        assert step_ratio > 1.3


def test_full_resolution_cli_run_reaches_the_content_size_and_cancels_inside_a_tile(
    weights_path, small_images, tmp_path
):
    output = tmp_path / "out.png"
    output.write_bytes(b"the painter's old file")
    args = [
        "run", "--content", small_images["tubingen"], "--style", small_images["starry_night"],
        "--output", output, "--preset", "preview", "--max-size", "64", "--full-resolution",
        "--refine-iterations", "400", "--tile-size", "64", "--progress", "json",
    ]  # fmt: skip
    process = subprocess.Popen(
        engine_command(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        event = parse_events(line)[0]
        if event["event"] == "progress" and event["stage"] == 2 and event["tile"] == 2:
            break
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    events = parse_events("".join(lines) + process.stdout.read())
    start = events[0]
    assert start["stage_sizes"][-1] == start["content_size"]
    assert start["stage_tiles"][-1] > 1
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[-1]["tile"] == 2 and progress[-1]["tiles"] == start["stage_tiles"][-1]
    assert all(e["eta"] > 0 for e in progress)
    assert process.returncode == 4 and events[-1]["code"] == "cancelled"
    assert output.read_bytes() == b"the painter's old file"


def test_full_resolution_output_has_the_content_size(weights_path, small_images, tmp_path):
    from conftest import run_engine

    output = tmp_path / "out.png"
    result = run_engine(
        "run", "--content", small_images["the_scream"], "--style", small_images["starry_night"],
        "--output", output, "--preset", "preview", "--max-size", "48", "--iterations", "3",
        "--full-resolution", "--refine-iterations", "4", "--tile-size", "64", "--progress", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    start = result.of("start")[0]
    assert [max(size) for size in start["stage_sizes"]] == [48, 96, 128]  # doubling up to the content's 128
    assert start["stage_sizes"][-1] == start["content_size"]
    assert read_rgba(output).shape[:2] == read_rgba(small_images["the_scream"]).shape[:2]
    assert result.of("progress")[-1]["iteration"] == start["iterations"]
