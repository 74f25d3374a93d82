"""The paper's normalised VGG19: stored factors, mean activation ≈ 1 on images that were
not used to measure them, and the same network up to a per-filter scale."""
import json

import numpy as np
import pytest
import torch

from nst_core import images, normalise
from nst_core.architecture import CONV_NAMES
from nst_core.vgg import VGGFeatures
from nst_core.weights import find_weights, load_weights

from conftest import EXAMPLES


@pytest.fixture(scope="module")
def caffe():
    return load_weights(find_weights(source="caffe"))


@pytest.fixture(scope="module")
def unseen():
    """The project's example photos and paintings at 256 px: none was used for the factors."""
    paths = sorted((EXAMPLES / "content").iterdir()) + sorted((EXAMPLES / "style").iterdir())
    used = set(json.loads(normalise.FACTORS_FILE.read_text())["images"])
    assert used and not used & {p.name for p in paths}
    tensors = []
    for path in paths:
        t = images.to_tensor(images.to_float_image(path)[0])
        tensors.append(images.resize(t, images.fit_long_side(*t.shape[-2:], 256)))
    return tensors


def test_factors_are_stored_for_the_default_weights_with_their_provenance(caffe):
    data = json.loads(normalise.FACTORS_FILE.read_text())
    assert data["version"] == normalise.FORMAT_VERSION
    assert data["weights_sha256"] == normalise.file_digest(caffe.info.path)
    assert len(data["images"]) >= 5 and data["positions_per_layer"]["conv5_1"] > 1000
    factors = normalise.stored_factors(caffe)
    assert factors is not None and list(factors) == list(CONV_NAMES)
    for conv in CONV_NAMES:
        assert factors[conv].shape == (caffe.convs[conv][0].shape[0],) and bool((factors[conv] > 0).all())


def test_mean_activation_is_about_one_on_unseen_images(caffe, unseen):
    factors = normalise.stored_factors(caffe)
    means, _ = normalise.measure(
        type(caffe)(caffe.info, normalise.apply(caffe, factors)), unseen)
    raw_means, _ = normalise.measure(caffe, unseen)
    for conv in CONV_NAMES[:13]:  # conv1_1 … conv5_1: every layer a preset reads
        layer = means[conv].numpy()
        assert 0.7 < layer.mean() < 1.5, (conv, layer.mean())
        assert 0.75 < np.median(layer) < 1.3, (conv, np.median(layer))
        # what normalisation fixed: raw mean activations range from ~20 to ~500
        assert not 0.5 < raw_means[conv].numpy().mean() < 2
    assert 0.5 < float(np.median(means["conv5_4"].numpy())) < 2


def test_normalised_features_are_the_original_divided_by_the_factors(caffe, unseen):
    factors = normalise.stored_factors(caffe)
    raw = VGGFeatures(caffe, "relu5_1", pooling="avg")
    normal = VGGFeatures(caffe, "relu5_1", pooling="avg", factors=factors)
    layers = ["relu1_1", "relu3_2", "relu4_2", "relu5_1"]
    with torch.no_grad():
        a, b = raw(unseen[0], layers), normal(unseen[0], layers)
    for name in layers:
        conv = "conv" + name[4:]
        expected = a[name] / factors[conv].view(1, -1, 1, 1)
        assert torch.allclose(b[name], expected, rtol=1e-3, atol=1e-4 * float(expected.abs().max()))


def test_weights_without_stored_factors_are_normalised_on_the_run_images(caffe, unseen, tmp_path):
    """Other weights (e.g. torchvision's) get factors measured on the run's own images."""
    from nst_core.weights import VGGWeights, WeightsInfo

    elsewhere = tmp_path / "other-vgg19.pth"
    elsewhere.write_bytes(b"not the Caffe file")
    other = VGGWeights(WeightsInfo("caffe", elsewhere), caffe.convs)
    assert normalise.stored_factors(other) is None
    factors = normalise.factors_for(other, lambda: unseen[:2])
    means, _ = normalise.measure(VGGWeights(other.info, normalise.apply(other, factors)), unseen[:2])
    for conv in CONV_NAMES:
        alive = factors[conv] > 1e-12
        assert torch.allclose(means[conv][alive], torch.ones(int(alive.sum())), rtol=1e-3)
