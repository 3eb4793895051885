"""Backbones expose their feature maps through one door (``feature_info``, ``feature_maps``), and
the dense heads built on them: shapes and strides per model, gradients reaching the backbone,
the same outputs on every backend whose neurons conform.

Expected strides and widths are read off the presets by hand (spikformer ``tiny``: 8 x 8 images,
patch 2, 32 channels; qkformer ``tiny``: D = 32 in three stages D/4, D/2, D, pooled twice; ...).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import step.models as models
from step.errors import InputError
from step.models.heads import BackboneMaps, segmentation_net
from step.nn import NeuronModule
from step.registry import available_backends, get_backend
from step.support import Level

#: (channels, stride) of each map of the ``tiny`` preset, worked out from the presets.
EXPECTED = {
    "spikformer": [(32, 2)],
    "sdt": [(32, 2)],
    "spikingformer": [(32, 2)],
    "spikformer_semm": [(32, 2)],
    "swformer": [(32, 2)],
    "sglformer": [(48, 2)],
    "qkformer": [(8, 1), (16, 2), (32, 4)],
    "spikingresformer": [(16, 1), (32, 2), (64, 4)],
    "spiking_cnn": [(8, 2), (16, 4)],
    "tim": [(32, 2)],
    "spiking_mlp": [],
    "spiking_rnn": [],
    "spt": [],  # point clouds: no image grid
}


def _tiny(name: str, backend: str = "reference", **overrides: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return models.create(name, "tiny", backend=backend, **overrides)


def test_every_registered_model_is_listed_here() -> None:
    assert sorted(EXPECTED) == models.list_models()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_feature_maps_have_the_stated_channels_and_strides(name: str) -> None:
    model = _tiny(name).eval()
    info = [(i.channels, i.reduction) for i in getattr(model, "feature_info", [])]
    assert info == EXPECTED[name]
    if not info:
        with pytest.raises(InputError, match="no spatial feature maps"):
            segmentation_net(model, "fcn", channels=4, num_classes=3)
        return
    x = torch.rand(2, model.config.in_channels, 8, 8)
    maps = model.feature_maps(x)
    T = model.config.T
    assert [tuple(m.shape) for m in maps] == [(T, 2, c, 8 // r, 8 // r) for c, r in info]
    named = dict(model.named_modules())
    assert all(i.module in named for i in model.feature_info)


def test_a_sequential_front_end_has_no_grid() -> None:
    model = models.create("spikformer_semm", "smnist", embed_dim=16, depth=1, expert_dim=4)
    assert model.feature_info == []


@pytest.mark.parametrize("head", ["fcn", "fpn"])
@pytest.mark.parametrize("name", ["spikformer", "qkformer", "spiking_cnn"])
def test_segmentation_net_gives_logits_per_pixel_and_trains_the_backbone(name: str,
                                                                           head: str) -> None:
    backbone = _tiny(name, T=2)
    net = segmentation_net(backbone, head, channels=8, num_classes=5)
    x = torch.rand(3, 1, 8, 8)
    out = net(x)
    assert out.shape == (3, 5, 8, 8)
    out.square().mean().backward()
    used = [p for n, p in net.named_parameters() if n.startswith("backbone.")
            and not n.startswith("backbone.head.")]  # the classifier is not on the dense path
    assert used and all(p.grad is not None and p.grad.abs().sum() > 0 for p in used[:3])


def test_fpn_on_a_single_scale_backbone_builds_three_levels() -> None:
    net = segmentation_net(_tiny("spikformer", T=2), "fpn", channels=8, num_classes=3)
    maps = net.backbone.feature_maps(torch.rand(2, 1, 8, 8))
    levels = net.head.pyramid(maps)
    assert [tuple(m.shape[-2:]) for m in levels] == [(8, 8), (4, 4), (2, 2)]


def test_a_model_without_grid_gets_one_line() -> None:
    with pytest.raises(InputError, match="no spatial feature maps"):
        segmentation_net(_tiny("spiking_mlp"), "fcn", channels=8, num_classes=3)
    with pytest.raises(InputError, match="unknown segmentation head 'psp'"):
        segmentation_net(_tiny("spikformer"), "psp", channels=8, num_classes=3)


def test_the_detection_backbone_gives_one_fpn_level_per_map_and_a_pooled_one() -> None:
    body = BackboneMaps(_tiny("qkformer", T=2), out_channels=8)
    out = body(torch.rand(2, 1, 8, 8))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "0": (2, 8, 8, 8), "1": (2, 8, 4, 4), "2": (2, 8, 2, 2), "pool": (2, 8, 1, 1)}


OTHERS = [b for b in available_backends() if b != "reference"]


@pytest.mark.parametrize("backend", OTHERS)
def test_dense_nets_compute_the_same_on_every_conforming_backend(backend: str) -> None:
    config = models.get_config("qkformer", "tiny")
    for role in config.neuron_roles:
        s = get_backend(backend).neuron_support(config.spec(role))
        if s.forward is Level.UNSUPPORTED:
            pytest.skip(f"{backend} cannot run qkformer's neurons: {s.forward_how}")
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    outs = {}
    for b in ("reference", backend):
        torch.manual_seed(3)
        net = segmentation_net(_tiny("qkformer", b, T=2), "fpn", channels=8, num_classes=4)
        torch.manual_seed(4)
        body = BackboneMaps(net.backbone, out_channels=8)
        neurons = [m for m in net.modules() if isinstance(m, NeuronModule)]
        assert neurons and all(m.backend_name == b for m in neurons)  # heads too, no fallback
        with torch.no_grad():
            outs[b] = (net.eval()(x), body.eval()(x)["0"])
    assert (outs["reference"][0] - outs[backend][0]).abs().max() <= 1e-5
    assert (outs["reference"][1] - outs[backend][1]).abs().max() <= 1e-5


EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "dense").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_published_dense_configurations_are_complete(path: Path) -> None:
    from step.data import dataset_entry
    from step.train import load_run_config

    cfg = load_run_config(str(path), {})
    assert cfg.task != "classification" and dataset_entry(cfg.dataset).task == cfg.task
    config = models.get_config(cfg.model, cfg.preset, **cfg.model_overrides)
    assert config.img_size == cfg.img_size  # the data is read at the backbone's size
    assert models.count_parameters(cfg.model, cfg.preset) > 1_000_000


def test_the_examples_are_there() -> None:
    assert {p.stem for p in EXAMPLES} >= {"ade20k_spikformer_fcn", "ade20k_sdt_fcn",
                                          "coco_spikingresformer_faster_rcnn"}


@pytest.mark.parametrize("backend", available_backends())
def test_one_training_step_of_each_dense_task_on_every_backend(backend: str) -> None:
    from step.data import load_dataset
    from step.models.heads import faster_rcnn

    kw: dict[str, object] = {"T": 2, "img_size": 32}
    s = get_backend(backend).neuron_support(models.get_config("spiking_cnn", "tiny").neuron)
    if s.gradient is Level.UNSUPPORTED:  # the preset's atan (Norse has none): sigmoid(4)
        kw["surrogate"] = {"kind": "sigmoid", "alpha": 4.0}
        s = get_backend(backend).neuron_support(
            models.get_config("spiking_cnn", "tiny", **kw).neuron)
    if s.forward is Level.UNSUPPORTED or s.gradient is Level.UNSUPPORTED:
        pytest.skip(f"{backend} cannot train spiking_cnn's neurons: {s.forward_how}; "
                    f"{s.gradient_how}")
    det = load_dataset("digits_det")
    x, targets = det.train.get_batch(torch.arange(2))
    masks = load_dataset("digits_seg").train.get_batch(torch.arange(2))[1]
    seg = segmentation_net(_tiny("spiking_cnn", backend, **kw), "fpn", 8, 11)
    loss = torch.nn.functional.cross_entropy(seg(x), masks)
    detector = faster_rcnn(_tiny("spiking_cnn", backend, **kw), 11, 8).train()
    loss = loss + sum(detector(list(x), targets).values())
    loss.backward()
    assert torch.isfinite(loss)
    for net in (seg, detector):
        first_conv = next(p for n, p in net.named_parameters() if "stages.0" in n)
        assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0
