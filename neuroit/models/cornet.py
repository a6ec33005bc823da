"""CORnet-S (Kubilius et al. 2019): V1, V2, V4 and IT areas, the last three recurrent.

Written for neuroit from the paper's description. Module and parameter names follow the published
checkpoint (``cornet_s-1d3f7974.pth``: ``{"state_dict": {"module.V1.conv1.weight", …}}``) so that
file loads directly. Recurrent times: V2 2, V4 4, IT 2 (the published CORnet-S).
"""
from __future__ import annotations

from neuroit.models._deps import import_optional

torch = import_optional("torch")
nn = torch.nn
F = torch.nn.functional

TIMES = {"V2": 2, "V4": 4, "IT": 2}


class _Identity(nn.Module):
    """A named pass-through, so an area's output can be hooked by name (``IT.output``)."""

    def forward(self, x):
        return x


class _Flatten(nn.Module):
    def forward(self, x):
        return x.flatten(1)


class CORblockS(nn.Module):
    """One recurrent area: an input 1×1 conv, then ``times`` bottleneck steps with a skip.

    The first step downsamples by 2 (stride-2 3×3 conv and a stride-2 1×1 skip conv); later steps
    reuse the same convolutions at stride 1 with their own batch norms.
    """

    scale = 4

    def __init__(self, in_channels: int, out_channels: int, *, times: int = 1):
        super().__init__()
        self.times = times
        wide = out_channels * self.scale
        self.conv_input = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.skip = nn.Conv2d(out_channels, out_channels, kernel_size=1, stride=2, bias=False)
        self.norm_skip = nn.BatchNorm2d(out_channels)
        self.conv1 = nn.Conv2d(out_channels, wide, kernel_size=1, bias=False)
        self.nonlin1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(wide, wide, kernel_size=3, stride=2, padding=1, bias=False)
        self.nonlin2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(wide, out_channels, kernel_size=1, bias=False)
        self.nonlin3 = nn.ReLU(inplace=True)
        self.output = _Identity()
        for t in range(times):
            setattr(self, f"norm1_{t}", nn.BatchNorm2d(wide))
            setattr(self, f"norm2_{t}", nn.BatchNorm2d(wide))
            setattr(self, f"norm3_{t}", nn.BatchNorm2d(out_channels))

    def forward(self, x):
        x = self.conv_input(x)
        for t in range(self.times):
            skip = self.norm_skip(self.skip(x)) if t == 0 else x
            stride = 2 if t == 0 else 1  # functional conv: no module state is mutated per step
            h = self.nonlin1(getattr(self, f"norm1_{t}")(self.conv1(x)))
            h = F.conv2d(h, self.conv2.weight, None, stride, 1)
            h = self.nonlin2(getattr(self, f"norm2_{t}")(h))
            h = getattr(self, f"norm3_{t}")(self.conv3(h))
            x = self.nonlin3(h + skip)
        return self.output(x)


def cornet_s(*, num_classes: int = 1000):
    """A CORnet-S module (random weights); penultimate layer ``decoder.avgpool`` (512 units)."""
    from collections import OrderedDict

    v1 = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)),
        ("norm1", nn.BatchNorm2d(64)),
        ("nonlin1", nn.ReLU(inplace=True)),
        ("pool", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ("conv2", nn.Conv2d(64, 64, kernel_size=3, stride=1, padding=1, bias=False)),
        ("norm2", nn.BatchNorm2d(64)),
        ("nonlin2", nn.ReLU(inplace=True)),
        ("output", _Identity()),
    ]))
    decoder = nn.Sequential(OrderedDict([
        ("avgpool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", _Flatten()),
        ("linear", nn.Linear(512, num_classes)),
        ("output", _Identity()),
    ]))
    model = nn.Sequential(OrderedDict([
        ("V1", v1),
        ("V2", CORblockS(64, 128, times=TIMES["V2"])),
        ("V4", CORblockS(128, 256, times=TIMES["V4"])),
        ("IT", CORblockS(256, 512, times=TIMES["IT"])),
        ("decoder", decoder),
    ]))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model
