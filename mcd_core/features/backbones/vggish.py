"""VGGish (Hershey et al. 2017): 96 x 64 log-mel patch -> 128-d embedding.

Architecture as released: conv64-pool-conv128-pool-conv256x2-pool-conv512x2-pool (3x3 convs with
padding 1, ReLU, 2x2 max pools), then fc 4096-4096-128. The embedding is the raw output of the
last linear layer (the TensorFlow release has no ReLU there; the PyTorch port adds one, which
carries no parameters, so its file still loads). Parameter names follow the public PyTorch port
(harritaylor/torchvggish release v0.1): `features.{0,3,6,8,11,13}`, `embeddings.{0,2,4}`.

PCA post-processing (whitening PCA, clip to [-2, 2], 8-bit quantisation to 0..255), as in the
AudioSet release, is applied only when a PCA parameter file is given (`pca_eigen_vectors`
[128, 128] and `pca_means` [128]).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from mcd_core.features.backbones.weights import WeightSource, WeightsError

EMBEDDING_DIM = 128
QUANTIZE_MIN, QUANTIZE_MAX = -2.0, 2.0

VGGISH_SOURCE = WeightSource(
    name="vggish",
    filename="vggish-10086976.pth",
    url="https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
    note="VGGish trained on YouTube-8M/AudioSet by Google; PyTorch port by H. Taylor (Apache-2.0)",
)


def _numpy_array_globals() -> list:
    """What a pickled float numpy array refers to, for torch's weights-only unpickler.

    Safe to allow, as torch documents for numpy arrays: `_reconstruct` with `ndarray` only makes an
    empty array, `dtype` parses a type code, and the array's BUILD copies raw bytes of that float
    dtype. No function or class named by the file is called except these; an object array cannot
    be built (its dtype class is not allowed), and anything else stays refused, as without them."""
    import numpy as np

    core = getattr(np, "_core", None) or np.core   # numpy >= 2 renamed numpy.core
    reconstruct = core.multiarray._reconstruct
    # Files pickled under numpy < 2 name numpy.core.multiarray, newer ones numpy._core.multiarray.
    return [(reconstruct, "numpy.core.multiarray._reconstruct"),
            (reconstruct, "numpy._core.multiarray._reconstruct"),
            np.ndarray, np.dtype, type(np.dtype("float64")), type(np.dtype("float32"))]


def _pca_state(path) -> Mapping[str, Any]:
    """The port's PCA file as plain tensors (it may hold numpy arrays)."""
    import numpy as np

    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        # Older releases pickled numpy arrays: allow numpy's float array reconstruction, no more.
        with torch.serialization.safe_globals(_numpy_array_globals()):
            raw = torch.load(path, map_location="cpu", weights_only=True)
    return {k: torch.as_tensor(np.asarray(raw[k]), dtype=torch.float32)
            for k in ("pca_eigen_vectors", "pca_means")}


VGGISH_PCA_SOURCE = WeightSource(
    name="vggish_pca",
    filename="vggish_pca_params.pth",
    url="https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish_pca_params-970ea276.pth",
    note="AudioSet PCA/whitening parameters for VGGish embeddings (optional post-processing)",
    convert=_pca_state,
)


def _conv_stack() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 1
    for width in (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool"):
        if width == "pool":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = width
    return nn.Sequential(*layers)


class VGGish(nn.Module):
    """Log-mel patches (B, 96, 64) or (B, 1, 96, 64) -> raw embeddings (B, 128)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = _conv_stack()
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, EMBEDDING_DIM),
        )

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        if patches.dim() == 3:
            patches = patches.unsqueeze(1)  # (B, 1, 96, 64)
        x = self.features(patches)          # (B, 512, 6, 4)
        # Flatten in TensorFlow's (H, W, C) order, the order the released fc weights expect.
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # (B, 12288)
        return self.embeddings(x)           # (B, 128)


class VGGishPCA(nn.Module):
    """AudioSet post-processing: PCA with whitening, clip, 8-bit quantisation (values 0..255)."""

    def __init__(self, state: Mapping[str, torch.Tensor]) -> None:
        super().__init__()
        matrix = torch.as_tensor(state["pca_eigen_vectors"], dtype=torch.float32)
        means = torch.as_tensor(state["pca_means"], dtype=torch.float32).reshape(-1)
        if matrix.shape != (EMBEDDING_DIM, EMBEDDING_DIM) or means.shape != (EMBEDDING_DIM,):
            raise WeightsError(f"VGGish PCA parameters must be [128, 128] and [128], got "
                               f"{tuple(matrix.shape)} and {tuple(means.shape)}")
        self.register_buffer("pca_eigen_vectors", matrix)
        self.register_buffer("pca_means", means)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        projected = (embeddings.float() - self.pca_means) @ self.pca_eigen_vectors.T  # (B, 128)
        clipped = projected.clamp(QUANTIZE_MIN, QUANTIZE_MAX)
        return torch.round((clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN)))


class VGGishWithPCA(nn.Module):
    """VGGish followed by the PCA post-processing."""

    def __init__(self, net: VGGish, pca: VGGishPCA) -> None:
        super().__init__()
        self.net, self.pca = net, pca

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.pca(self.net(patches))
