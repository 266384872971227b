"""Colour preservation, masks and alpha: what turns the optimised image into the output."""

import numpy as np

from nst_engine.colors import keep_colors, rgb_to_ycbcr, ycbcr_to_rgb
from nst_engine.compose import blend_mask, compose
from nst_engine.images import RasterImage

rng = np.random.default_rng(2)


def test_ycbcr_round_trip():
    rgb = rng.uniform(0, 255, size=(4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-3)


def test_keep_colors_takes_chroma_from_content_and_luminance_from_styled():
    content = rng.uniform(60, 190, size=(8, 8, 3)).astype(np.float32)
    styled = rng.uniform(60, 190, size=(8, 8, 3)).astype(np.float32)
    result = keep_colors(content, styled)
    np.testing.assert_allclose(rgb_to_ycbcr(result)[..., 1:], rgb_to_ycbcr(content)[..., 1:], atol=0.05)
    np.testing.assert_allclose(rgb_to_ycbcr(result)[..., 0], rgb_to_ycbcr(styled)[..., 0], atol=0.05)


def test_blend_mask_honours_soft_edges():
    content = np.zeros((1, 3, 3), dtype=np.float32)
    styled = np.full((1, 3, 3), 100.0, dtype=np.float32)
    mask = np.array([[0.0, 0.25, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(blend_mask(content, styled, mask)[0, :, 0], [0.0, 25.0, 100.0])


def test_compose_resizes_back_and_keeps_alpha():
    alpha = np.ones((30, 40), dtype=np.float32)
    alpha[:, :10] = 0.0
    content = RasterImage(rng.uniform(0, 255, size=(30, 40, 3)).astype(np.float32), alpha)
    styled_work = rng.uniform(0, 255, size=(12, 16, 3)).astype(np.float32)
    result = compose(content, styled_work)
    assert result.size == (40, 30)
    assert result.alpha is alpha


def test_compose_cutout_makes_outside_of_mask_transparent():
    content = RasterImage(np.full((10, 10, 3), 50.0, dtype=np.float32))
    mask = np.zeros((10, 10), dtype=np.float32)
    mask[2:8, 2:8] = 1.0
    mask[2, 2] = 0.5
    result = compose(content, np.full((5, 5, 3), 200.0, dtype=np.float32), mask, mask_output="cutout")
    assert result.alpha[0, 0] == 0.0 and result.alpha[5, 5] == 1.0 and result.alpha[2, 2] == 0.5
    assert abs(result.rgb[5, 5, 0] - 200.0) < 1.0
    blended = compose(content, np.full((5, 5, 3), 200.0, dtype=np.float32), mask)
    assert blended.alpha is None
    assert blended.rgb[0, 0, 0] == 50.0 and abs(blended.rgb[2, 2, 0] - 125.0) < 1.0
