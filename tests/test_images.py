"""Reading every image mode Pillow offers, EXIF orientation, preprocessing and atomic writes."""

import os

import numpy as np
import pytest
from PIL import Image

from nst_engine.errors import BadInputError
from nst_engine.images import RasterImage, check_output_path, load_image, load_mask, save_atomic, scaled_size
from nst_engine.vgg19 import deprocess, preprocess

rng = np.random.default_rng(1)


def test_preprocess_is_bgr_minus_imagenet_means_and_round_trips():
    rgb = rng.uniform(0, 255, size=(5, 7, 3)).astype(np.float32)
    vgg = preprocess(rgb)
    assert vgg.shape == (1, 5, 7, 3)
    np.testing.assert_allclose(vgg[0, :, :, 0], rgb[:, :, 2] - 103.939, rtol=1e-6)
    np.testing.assert_allclose(vgg[0, :, :, 2], rgb[:, :, 0] - 123.68, rtol=1e-6)
    np.testing.assert_allclose(deprocess(vgg), rgb, atol=1e-4)


def test_scaled_size_rounds_like_the_tutorial():
    assert scaled_size((1024, 768), 512) == (512, 384)
    assert scaled_size((100, 33), 512) == (512, 169)


@pytest.mark.parametrize(
    "mode, value, expected_rgb, expected_alpha",
    [
        ("RGB", (10, 20, 30), (10, 20, 30), None),
        ("RGBA", (10, 20, 30, 128), (10, 20, 30), 128 / 255),
        ("L", 77, (77, 77, 77), None),
        ("LA", (77, 0), (77, 77, 77), 0.0),
        ("CMYK", (0, 0, 0, 0), (255, 255, 255), None),
        ("I;16", 65535, (255, 255, 255), None),
        ("I;16", 257 * 100, (100, 100, 100), None),
        ("I;16", 200, (200 / 257, 200 / 257, 200 / 257), None),  # a dark 16-bit image stays dark
        ("RGBA", (10, 20, 30, 255), (10, 20, 30), None),  # an opaque alpha channel carries nothing
        ("1", 1, (255, 255, 255), None),
    ],
)
def test_every_mode_loads_as_rgb_and_alpha(tmp_path, mode, value, expected_rgb, expected_alpha):
    path = tmp_path / "image.png" if mode != "CMYK" else tmp_path / "image.tif"
    Image.new(mode, (20, 18), value).save(path)
    image = load_image(path)
    assert image.size == (20, 18)
    np.testing.assert_allclose(image.rgb[0, 0], expected_rgb, atol=0.5)
    if expected_alpha is None:
        assert image.alpha is None
    else:
        assert image.alpha[0, 0] == pytest.approx(expected_alpha)


def test_palette_with_transparency_keeps_alpha(tmp_path):
    image = Image.new("P", (20, 20), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(1, (10, 0, 20, 20))
    image.save(tmp_path / "p.png", transparency=1)
    loaded = load_image(tmp_path / "p.png")
    assert loaded.alpha[0, 0] == 1.0 and loaded.alpha[0, 15] == 0.0
    np.testing.assert_allclose(loaded.rgb[0, 0], (255, 0, 0))


@pytest.mark.parametrize("mode, clear", [("RGB", (0, 255, 0)), ("L", 0), ("1", 0), ("I;16", 5)])
def test_a_transparent_colour_in_grey_and_rgb_pngs_is_alpha(tmp_path, mode, clear):
    """PNG optimisers store binary alpha as one transparent colour (a tRNS chunk), in 1-bit and
    16-bit grey images too."""
    if mode == "I;16":
        grey = np.full((20, 20), 40000, np.uint16)
        grey[:, 10:] = clear
        image = Image.fromarray(grey)
    else:
        image = Image.new(mode, (20, 20), {"RGB": (200, 10, 10), "L": 200, "1": 1}[mode])
        image.paste(clear, (10, 0, 20, 20))
    image.save(tmp_path / "t.png", transparency=clear)
    assert Image.open(tmp_path / "t.png").mode == mode
    loaded = load_image(tmp_path / "t.png")
    assert loaded.alpha is not None and loaded.alpha[0, 0] == 1.0 and loaded.alpha[0, 15] == 0.0


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = 255  # white on the left, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(pixels).save(tmp_path / "o.jpg", exif=exif, quality=95)
    loaded = load_image(tmp_path / "o.jpg")
    assert loaded.size == (20, 40)  # displayed upright: portrait
    assert loaded.rgb[5, 10].mean() > 200 and loaded.rgb[35, 10].mean() < 50


def test_mask_reads_grey_levels_and_checks_size(tmp_path):
    mask = np.tile(np.linspace(0, 255, 32, dtype=np.float32), (16, 1)).astype(np.uint8)
    Image.fromarray(mask).save(tmp_path / "m.png")
    loaded = load_mask(tmp_path / "m.png", (32, 16))
    assert loaded[0, 0] == 0 and loaded[0, -1] == 1 and 0.4 < loaded[0, 16] < 0.6
    with pytest.raises(BadInputError) as info:
        load_mask(tmp_path / "m.png", (64, 16))
    assert info.value.code == "mask_size_mismatch"


def test_mask_size_is_compared_as_displayed_after_exif_orientation(tmp_path):
    """A mask stored sideways with an orientation tag lines up with the upright content."""
    stored = np.zeros((16, 32), dtype=np.uint8)  # 32 wide, 16 high as stored
    stored[:, :16] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": displayed 16 wide, 32 high
    Image.fromarray(stored).save(tmp_path / "m.png", exif=exif)
    loaded = load_mask(tmp_path / "m.png", (16, 32))
    assert loaded.shape == (32, 16)
    assert loaded[2, 8] == 1.0 and loaded[30, 8] == 0.0  # the white left half, turned to the top
    with pytest.raises(BadInputError) as info:
        load_mask(tmp_path / "m.png", (32, 16))
    assert info.value.code == "mask_size_mismatch"


def test_save_atomic_keeps_alpha_exactly_and_leaves_no_temporary_files(tmp_path):
    alpha = (rng.integers(0, 256, size=(9, 11)) / 255.0).astype(np.float32)
    rgb = rng.uniform(0, 255, size=(9, 11, 3)).astype(np.float32)
    out = save_atomic(RasterImage(rgb, alpha), tmp_path / "out.png")
    saved = np.asarray(Image.open(out))
    assert saved.shape == (9, 11, 4)
    np.testing.assert_array_equal(saved[:, :, 3], np.rint(alpha * 255).astype(np.uint8))
    assert os.listdir(tmp_path) == ["out.png"]
    assert (out.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_output_checks(tmp_path):
    with pytest.raises(BadInputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.png", needs_alpha=False)
    with pytest.raises(BadInputError, match="cannot store"):
        check_output_path(tmp_path / "out.jpg", needs_alpha=True)
    with pytest.raises(BadInputError, match="extension"):
        check_output_path(tmp_path / "out.unknown", needs_alpha=False)
    with pytest.raises(BadInputError, match="cannot write a colour image as XBM"):
        check_output_path(tmp_path / "out.xbm", needs_alpha=False)  # Pillow writes only 1-bit XBM
    assert check_output_path(tmp_path / "out.jpg", needs_alpha=False).name == "out.jpg"
    assert os.listdir(tmp_path) == []


def test_an_output_name_too_long_for_the_temporary_file_is_refused_at_the_start(tmp_path):
    """`save_atomic` writes a temporary file named after the output, 9 characters longer: a name
    that fits but leaves no room for those must fail the check, not the end of the run."""
    fits = tmp_path / ("z" * 248 + ".png")  # 252 of the 255 characters a name may have
    with pytest.raises(BadInputError, match="File name too long") as refused:
        check_output_path(fits, needs_alpha=False)
    assert refused.value.code == "output_unwritable"
    with pytest.raises(BadInputError, match="File name too long"):  # too long for the file itself
        check_output_path(tmp_path / ("z" * 300 + ".png"), needs_alpha=False)
    assert os.listdir(tmp_path) == []
