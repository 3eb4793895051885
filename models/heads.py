"""Dense heads on a backbone's feature maps: semantic segmentation (FCN, semantic FPN) and the
torchvision detector around a spiking backbone.

A head sees only :meth:`~step.models.blocks.SpikingModel.feature_maps` (``[T, B, C_i, H_i,
W_i]``, finest first) and :attr:`~step.models.blocks.SpikingModel.feature_info`; it never
reaches into a model's internals, so every model with a spatial grid carries every head.

Segmentation heads are spiking and spike-driven, as STEP's ``FCNHead_SNN``: each weight layer is
preceded by a neuron of the backbone's ``neuron`` role on the backbone's backend (so a feature
map that is a membrane potential, SDT's, is fired first), and the class logits are averaged over
time, then resized bilinearly to the input. The detector (:func:`faster_rcnn`) keeps torchvision's
FPN, RPN and box heads (real-valued): the spiking part is the backbone, as in SDT v2's detection.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

import step.nn as snn
from step.errors import InputError
from step.models.blocks import FeatureInfo, Neurons, SpikingModel, conv_bn

SegHead = Literal["fcn", "fpn"]
SEG_HEADS: tuple[str, ...] = ("fcn", "fpn")


def _resize(x: Tensor, size: tuple[int, int], mode: str = "bilinear") -> Tensor:
    """``[T, B, C, h, w] -> [T, B, C, *size]``."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    kw = {"align_corners": False} if mode == "bilinear" else {}
    y = F.interpolate(x.flatten(0, 1), size=size, mode=mode, **kw)
    return y.reshape(*x.shape[:3], *y.shape[-2:])


class FCNHead(nn.Module):
    """mmsegmentation's ``FCNHead`` in spiking form, on the last (coarsest) map:
    ``num_convs`` x (LIF, Conv3x3, BN), then LIF and a 1x1 classifier with bias. STEP's ADE20K
    configuration uses ``num_convs=0``, ``concat_input=False``, no dropout (its classifier sits
    directly on the backbone's map); ``concat_input`` is not offered here."""

    def __init__(self, info: list[FeatureInfo], channels: int, num_classes: int, make: Neurons,
                 num_convs: int = 0) -> None:
        super().__init__()
        c = info[-1].channels
        convs: list[nn.Module] = []
        for i in range(num_convs):
            convs += [make(), conv_bn(c if i == 0 else channels, channels)]
        self.convs = nn.Sequential(*convs)
        self.cls_lif = make()
        self.cls = snn.Conv2d(channels if num_convs else c, num_classes, 1, bias=True)

    def forward(self, maps: list[Tensor]) -> Tensor:
        return self.cls(self.cls_lif(self.convs(maps[-1])))


class SemanticFPNHead(nn.Module):
    """The semantic branch of Panoptic FPN (Kirillov et al., CVPR 2019), spiking.

    Laterals ``LIF, Conv1x1, BN`` to ``channels`` per level; top-down: each coarser level,
    upsampled (nearest), is added to the next finer; each level then ``LIF, Conv3x3, BN``,
    resized bilinearly to the finest level and summed; ``LIF`` and a 1x1 classifier. A
    single-scale backbone (a plain spiking ViT) gets the simple pyramid of ViTDet (Li et al.,
    ECCV 2022) first: its map at stride r, nearest-upsampled x2 and convolved (stride r/2), and
    max-pooled (stride 2r), so the head always has three levels.
    """

    def __init__(self, info: list[FeatureInfo], channels: int, num_classes: int,
                 make: Neurons) -> None:
        super().__init__()
        self.simple = len(info) == 1
        widths = [i.channels for i in info]
        if self.simple:
            c = widths[0]
            self.up_lif, self.up = make(), conv_bn(c, c)
            self.down = snn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True)
            widths = [c, c, c]
        self.lateral = nn.ModuleList(nn.Sequential(make(), conv_bn(w, channels, k=1))
                                     for w in widths)
        self.smooth = nn.ModuleList(nn.Sequential(make(), conv_bn(channels, channels))
                                    for _ in widths)
        self.cls_lif = make()
        self.cls = snn.Conv2d(channels, num_classes, 1, bias=True)

    def pyramid(self, maps: list[Tensor]) -> list[Tensor]:
        if not self.simple:
            return maps
        x = maps[0]
        up = self.up(_resize(self.up_lif(x), (2 * x.shape[-2], 2 * x.shape[-1]), "nearest"))
        return [up, x, self.down(x)]

    def forward(self, maps: list[Tensor]) -> Tensor:
        maps = self.pyramid(maps)
        lat = [layer(m) for layer, m in zip(self.lateral, maps, strict=True)]
        for i in range(len(lat) - 2, -1, -1):  # top-down
            lat[i] = lat[i] + _resize(lat[i + 1], lat[i].shape[-2:], "nearest")
        size = lat[0].shape[-2:]
        out = sum(_resize(s(x), size) for s, x in zip(self.smooth, lat, strict=True))
        return self.cls(self.cls_lif(out))


class SegmentationNet(nn.Module):
    """Backbone + head: ``[B, C, H, W]`` (or time-first) -> class logits ``[B, K, H, W]``,
    averaged over time and resized bilinearly to the input's size."""

    def __init__(self, backbone: SpikingModel, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head
        self.config = backbone.config  # T, encoder, neurons: what energy and support read

    def forward(self, x: Tensor) -> Tensor:
        logits = self.head(self.backbone.feature_maps(x)).mean(0)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def dense_info(backbone: nn.Module) -> list[FeatureInfo]:
    """The backbone's feature maps, or one line saying it has none."""
    info = getattr(backbone, "feature_info", None) or []
    if not info:
        raise InputError(f"model {type(backbone).__name__} has no spatial feature maps (no "
                         "token grid): dense tasks need a backbone with one (spikformer, sdt, "
                         "spikingformer, qkformer, spikingresformer, spiking_cnn)")
    return list(info)


def segmentation_net(backbone: SpikingModel, head: str, channels: int,
                     num_classes: int) -> SegmentationNet:
    """``head`` (``fcn`` or ``fpn``) with ``channels`` on ``backbone``, its neurons built like
    the backbone's (role ``neuron``, same backend)."""
    info = dense_info(backbone)
    make = Neurons(backbone.config, backbone.backend_name)
    if head == "fcn":
        module: nn.Module = FCNHead(info, channels, num_classes, make)
    elif head == "fpn":
        module = SemanticFPNHead(info, channels, num_classes, make)
    else:
        raise InputError(f"unknown segmentation head {head!r}: choose one of {SEG_HEADS}")
    return SegmentationNet(backbone, module)


class BackboneMaps(nn.Module):
    """A spiking backbone as torchvision detection expects it: ``[B, 3, H, W]`` ->
    ``OrderedDict`` of real-valued maps (each map averaged over time: the firing rate, or the
    mean membrane), then torchvision's ``FeaturePyramidNetwork`` with ``out_channels``."""

    def __init__(self, backbone: SpikingModel, out_channels: int) -> None:
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

        info = dense_info(backbone)
        self.body = backbone
        self.fpn = FeaturePyramidNetwork([i.channels for i in info], out_channels,
                                         extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels
        self.names = [str(i) for i in range(len(info))]

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        maps = [m.mean(0) for m in self.body.feature_maps(x)]
        return self.fpn(OrderedDict(zip(self.names, maps, strict=True)))


def faster_rcnn(backbone: SpikingModel, num_classes: int, fpn_channels: int) -> nn.Module:
    """torchvision's Faster R-CNN on the spiking ``backbone`` with an FPN over its maps.

    ``num_classes`` counts the background (torchvision's convention: labels 1..K). Images are
    not resized or normalised by the detector (``min_size = max_size`` = the backbone's
    ``img_size``, mean 0, std 1): the data is already at the size the backbone was built for.
    Anchors: one size per FPN level, 4x the level's stride (the first level's stride at least
    4 pixels), ratios 0.5, 1, 2. Sampling follows the image area: torchvision's defaults (2000
    RPN proposals kept in training, 1000 in testing, 512 sampled RoIs per image) hold from
    512 x 512 up and shrink with the area below it (a 32 x 32 canvas: 100 / 50 proposals, 64
    RoIs), as a few hundred anchors and three objects need no more; at the defaults, RoI
    sampling and NMS took 2/3 of a training step on 32 x 32 canvases.
    """
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    info = dense_info(backbone)
    body = BackboneMaps(backbone, fpn_channels)
    strides = [i.reduction for i in info] + [2 * info[-1].reduction]  # + LastLevelMaxPool
    sizes = tuple((max(4 * s, 8),) for s in strides)
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    roi = MultiScaleRoIAlign(body.names, output_size=7, sampling_ratio=2)
    size, chans = backbone.config.img_size, backbone.config.in_channels
    hidden = 4 * fpn_channels  # torchvision's 1024 for its 256-channel FPN
    area = min(1.0, (size / 512) ** 2)

    def scaled(default: int, least: int) -> int:
        return max(least, round(default * area))

    sampling = {"rpn_pre_nms_top_n_train": scaled(2000, 100),
                "rpn_post_nms_top_n_train": scaled(2000, 100),
                "rpn_pre_nms_top_n_test": scaled(1000, 50),
                "rpn_post_nms_top_n_test": scaled(1000, 50),
                "box_batch_size_per_image": scaled(512, 64)}
    model = FasterRCNN(body, rpn_anchor_generator=anchors, box_roi_pool=roi,
                       box_head=TwoMLPHead(fpn_channels * 7 * 7, hidden),
                       box_predictor=FastRCNNPredictor(hidden, num_classes),
                       min_size=size, max_size=size, image_mean=[0.0] * chans,
                       image_std=[1.0] * chans, size_divisible=1, **sampling)
    model.config = backbone.config
    return model
