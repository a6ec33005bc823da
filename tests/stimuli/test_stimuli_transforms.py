import numpy as np
import pytest
from scipy import ndimage
from skimage import color, morphology

from neuroit.errors import NeuroitError
from neuroit.stimuli import (apply_transform, make_convex_hull, make_mosaic, make_outline, make_silhouette,
                             make_skeleton, to_grayscale)


@pytest.fixture
def image_and_mask():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(64, 80, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:64, 0:80]
    mask = ((yy - 32) ** 2 / 20 ** 2 + (xx - 30) ** 2 / 12 ** 2 <= 1) | ((yy > 28) & (yy < 36) & (xx > 30) & (xx < 70))
    return image, mask


def test_silhouette_is_the_mask_in_black_on_white(image_and_mask):
    image, mask = image_and_mask
    out = make_silhouette(image, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert (out[mask] == 0).all() and (out[~mask] == 255).all()


def test_convex_hull_contains_mask_and_is_convex(image_and_mask):
    image, mask = image_and_mask
    hull = make_convex_hull(image, mask)[:, :, 0] == 0
    assert hull[mask].all() and hull.sum() > mask.sum()
    assert np.array_equal(hull, morphology.convex_hull_image(mask))


def test_skeleton_is_thin_and_inside_the_mask(image_and_mask):
    image, mask = image_and_mask
    skel = make_skeleton(image, mask, thickness=1)[:, :, 0] == 0
    assert skel.any() and not (skel & ~mask).any()
    assert skel.sum() < 0.2 * mask.sum()


def test_outline_is_the_boundary(image_and_mask):
    image, mask = image_and_mask
    line = make_outline(image, mask, thickness=1)[:, :, 0] == 0
    interior = ndimage.binary_erosion(mask)
    assert not (line & ~mask).any() and not (line & interior).any()
    assert (line == (mask & ~interior)).mean() > 0.99


def test_grayscale_matches_skimage(image_and_mask):
    image, _ = image_and_mask
    gray = to_grayscale(image)
    assert (gray[:, :, 0] == gray[:, :, 1]).all() and (gray[:, :, 1] == gray[:, :, 2]).all()
    np.testing.assert_allclose(gray[:, :, 0], color.rgb2gray(image) * 255, atol=1.0)


def test_mosaic_tiles_are_flat_with_grout(image_and_mask):
    image, _ = image_and_mask
    out = make_mosaic(image, tile_size=8, grout=1, grout_value=200)
    assert out.shape == image.shape
    assert (out[7::8] == 200).all() and (out[:, 7::8] == 200).all()
    tile = out[0:7, 8:15].reshape(-1, 3)
    assert (tile == tile[0]).all()
    np.testing.assert_allclose(tile[0], image[0:8, 8:16].reshape(-1, 3).mean(0), atol=0.51)
    assert np.array_equal(make_mosaic(image, jitter=0.2, seed=3), make_mosaic(image, jitter=0.2, seed=3))


def test_transforms_accept_float_and_gray_images(image_and_mask):
    image, mask = image_and_mask
    out = make_silhouette(image[:, :, 0].astype(float) / 255, mask)
    assert out.shape == image.shape


def test_transform_errors_are_one_sentence(image_and_mask):
    image, mask = image_and_mask
    with pytest.raises(NeuroitError, match="height and width"):
        make_outline(image, mask[:10])
    with pytest.raises(NeuroitError, match="needs an object mask"):
        apply_transform(image, domain="skeleton")
    with pytest.raises(NeuroitError, match="must be one of"):
        apply_transform(image, mask, domain="cubism")
    with pytest.raises(NeuroitError, match="tile_size"):
        make_mosaic(image, tile_size=1)
    assert apply_transform(image, domain="grayscale").shape == image.shape
