"""VOneResNet50 (Dapello et al. 2020): a fixed Gabor-filter-bank V1 front end on a ResNet50 back end.

Written for neuroit from the paper's description. The V1 block convolves the image with a bank of
Gabor filters (each on one random colour channel) in quadrature pairs: "simple" cells are the
rectified even-phase response, "complex" cells the quadrature energy; both are scaled by ``k_exc``.
Stochastic (Poisson-like) noise is off by default (``noise_mode=None``) so features are
deterministic. Gabor parameters are drawn, with a seed, from the macaque V1 distributions the paper
uses: orientation (De Valois 1982), spatial frequency (De Valois 1982, correlated with envelope
width), envelope widths in cycles (Ringach 2002). A 1×1 "bottleneck" conv maps 512 → 64 channels
into torchvision's ResNet50 ``layer1``…``fc``.

Parameter names follow the published checkpoint (``voneresnet50_e70.pth.tar``:
``{"flags": {...}, "state_dict": {"module.vone_block.simple_conv_q0.weight", "module.bottleneck.weight",
"module.model.layer1.0.conv1.weight", …}}``), whose Gabor weights replace the sampled ones on load.
"""
from __future__ import annotations

import numpy as np

from neuroit.models._deps import import_optional

torch = import_optional("torch")
nn = torch.nn
F = torch.nn.functional

# Empirical macaque V1 histograms (bin edges, counts).
_ORI_EDGES, _ORI_COUNTS = np.array([-22.5, 22.5, 67.5, 112.5, 157.5]), np.array([66, 49, 77, 54])
_SF_EDGES = np.array([0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0])           # cycles/degree
_SF_COUNTS = np.array([4, 4, 8, 25, 32, 26, 28, 12])
_N_EDGES = np.logspace(-1, 0.2, 6)                                          # envelope widths, cycles
_N_JOINT = np.array([[2, 0, 1, 0, 0], [8, 9, 4, 1, 0], [1, 2, 19, 17, 3], [0, 0, 1, 7, 4], [0, 0, 0, 0, 0]],
                    dtype=np.float64)


def _inverse_cdf(u, counts, edges, *, log=False):
    """Piecewise-linear inverse CDF of a histogram (optionally on a log10 axis)."""
    cdf = np.concatenate([[0.0], np.cumsum(counts) / np.sum(counts)])
    axis = np.log10(edges) if log else edges
    out = np.interp(u, cdf, axis)
    return 10 ** out if log else out


def sample_gabor_params(n: int, *, seed: int = 0, sf_corr: float = 0.75) -> dict:
    """Draw ``n`` Gabor parameter sets from the V1 distributions: sf (cyc/deg), theta, phase (deg), nx, ny."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    theta = _inverse_cdf(rng.uniform(size=n), _ORI_COUNTS, _ORI_EDGES) % 180.0
    phase = rng.uniform(0, 360, size=n)
    z = rng.multivariate_normal([0, 0], [[1, sf_corr], [sf_corr, 1]], size=n)
    u = stats.norm.cdf(z)
    nx_marginal = _N_JOINT.sum(axis=1)
    nx = _inverse_cdf(u[:, 0], nx_marginal, _N_EDGES, log=True)
    ny = np.empty(n)
    for i, value in enumerate(nx):
        row = min(int(np.searchsorted(_N_EDGES, value, side="right")) - 1, len(_N_JOINT) - 1)
        counts = _N_JOINT[max(row, 0)]
        counts = counts if counts.sum() > 0 else np.ones_like(counts)
        ny[i] = _inverse_cdf(rng.uniform(), counts, _N_EDGES, log=True)
    sf_log = np.interp(u[:, 1], np.concatenate([[0.0], np.cumsum(_SF_COUNTS) / _SF_COUNTS.sum()]), np.log2(_SF_EDGES))
    return dict(sf=2.0 ** sf_log, theta=theta, phase=phase, nx=nx, ny=ny)


def gabor_kernel(frequency, sigma_x, sigma_y, theta, phase, size):
    """A ``size``×``size`` Gabor: Gaussian envelope (sigma in px) times a cosine grating (cycles/px)."""
    half = size // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    xr = x * np.cos(theta) + y * np.sin(theta)
    yr = -x * np.sin(theta) + y * np.cos(theta)
    envelope = np.exp(-0.5 * (xr ** 2 / sigma_x ** 2 + yr ** 2 / sigma_y ** 2)) / (2 * np.pi * sigma_x * sigma_y)
    return envelope * np.cos(2 * np.pi * frequency * xr + phase)


class GaborBank(nn.Module):
    """A fixed convolution whose (out, 3, k, k) weight holds one Gabor per output channel."""

    def __init__(self, weight, *, stride: int):
        super().__init__()
        self.register_buffer("weight", torch.as_tensor(weight, dtype=torch.float32))
        self.stride = stride

    def forward(self, x):
        k = self.weight.shape[-1]
        return F.conv2d(x, self.weight.to(x.dtype), None, self.stride, k // 2)


class VOneBlock(nn.Module):
    """Simple + complex Gabor cells with optional neuronal noise (off by default)."""

    def __init__(self, *, simple_channels: int = 256, complex_channels: int = 256, ksize: int = 25, stride: int = 4,
                 k_exc: float = 25.0, image_size: int = 224, visual_degrees: float = 8.0, seed: int = 0,
                 noise_mode: str | None = None, noise_scale: float = 0.35, noise_level: float = 0.07):
        super().__init__()
        n = simple_channels + complex_channels
        params = sample_gabor_params(n, seed=seed)
        ppd = image_size / visual_degrees
        sf = params["sf"] / ppd
        sigx, sigy = params["nx"] / sf, params["ny"] / sf
        theta, phase = np.deg2rad(params["theta"]), np.deg2rad(params["phase"])
        rng = np.random.default_rng(seed + 1)
        channel = rng.integers(0, 3, size=n)
        q0 = np.zeros((n, 3, ksize, ksize))
        q1 = np.zeros((n, 3, ksize, ksize))
        for i in range(n):
            q0[i, channel[i]] = gabor_kernel(sf[i], sigx[i], sigy[i], theta[i], phase[i], ksize)
            q1[i, channel[i]] = gabor_kernel(sf[i], sigx[i], sigy[i], theta[i], phase[i] + np.pi / 2, ksize)
        self.simple_conv_q0 = GaborBank(q0, stride=stride)
        self.simple_conv_q1 = GaborBank(q1, stride=stride)
        self.simple_channels, self.complex_channels = simple_channels, complex_channels
        self.k_exc = k_exc
        self.noise_mode, self.noise_scale, self.noise_level = noise_mode, noise_scale, noise_level
        self.gabor_params = dict(params, seed=seed, channel=channel)
        self.output = nn.Identity()

    def forward(self, x):
        q0, q1 = self.simple_conv_q0(x), self.simple_conv_q1(x)
        s = self.simple_channels
        simple = F.relu(q0[:, :s])
        complex_ = torch.sqrt(q0[:, s:] ** 2 + q1[:, s:] ** 2) / np.sqrt(2.0)
        x = self.k_exc * torch.cat([simple, complex_], dim=1)
        if self.noise_mode == "neuronal":  # Poisson-like: variance proportional to the (scaled) rate
            rate = x * self.noise_scale + self.noise_level
            rate = rate + torch.randn_like(rate) * torch.sqrt(F.relu(rate) + 1e-4)
            x = (rate - self.noise_level) / self.noise_scale
        elif self.noise_mode == "gaussian":
            x = x + torch.randn_like(x) * self.noise_scale
        elif self.noise_mode is not None:
            raise ValueError(f"noise_mode must be None, 'neuronal' or 'gaussian'; got {self.noise_mode!r}.")
        return self.output(F.relu(x))


class _ResNetBackEnd(nn.Module):
    """torchvision ResNet50 without its stem (conv1/bn1/maxpool): ``layer1``…``layer4``, ``avgpool``, ``fc``."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        torchvision = import_optional("torchvision")
        resnet = torchvision.models.resnet50(weights=None, num_classes=num_classes)
        self.layer1, self.layer2, self.layer3, self.layer4 = resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4
        self.avgpool, self.fc = resnet.avgpool, resnet.fc

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def vone_resnet50(*, seed: int = 0, noise_mode: str | None = None, num_classes: int = 1000, **vone_kwargs):
    """A VOneResNet50 module (Gabor bank sampled with ``seed``; back end random). Penultimate: ``model.avgpool``."""
    from collections import OrderedDict

    block = VOneBlock(seed=seed, noise_mode=noise_mode, **vone_kwargs)
    bottleneck = nn.Conv2d(block.simple_channels + block.complex_channels, 64, kernel_size=1, bias=False)
    nn.init.kaiming_normal_(bottleneck.weight, mode="fan_out", nonlinearity="relu")
    return nn.Sequential(OrderedDict([("vone_block", block), ("bottleneck", bottleneck),
                                      ("model", _ResNetBackEnd(num_classes))]))
