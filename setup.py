"""Installable package for tfx_explain (``pip install -e .``)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

# TFDS builders import importlib_resources (etils) without declaring it: without it every TFDS load fails with
# ModuleNotFoundError. tensorflow-datasets 4.9.0 fails at import with protobuf >= 4 (its generated code is older);
# 4.9.7 imports (measured at the floors, .ci/lowest_versions.sh). With TensorFlow 2.18 (protobuf < 6)
# tensorflow-metadata must stay below 1.21, whose generated code needs protobuf 6 without declaring it.
TFDS = ["tensorflow-datasets>=4.9.7", "importlib_resources>=5"]
# tf_keras must match the TensorFlow minor (tf_keras 2.N runs on tensorflow 2.N only); the range follows the
# tensorflow range in requirements.txt, and tf_keras 2.N itself requires tensorflow 2.N, so pip keeps the two in
# step. The tests explain tf_keras (Keras 2) models.
TF_KERAS = "tf_keras>=2.18,<2.22"


def _requirements():
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


setup(
    name="tfx_explain",
    version="0.1.0",
    description="Explain Keras image classifiers with generative models: GANMEX one-vs-one baselines, "
    "generative feature removal and counterfactual GANs.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["tfx_explain", "tfx_explain.*"]),
    # py.typed: the package's annotations are its public types (PEP 561), read by mypy and pyright in users' code
    package_data={"tfx_explain": ["assets/*", "assets/**/*", "py.typed"]},
    include_package_data=True,
    install_requires=_requirements(),
    extras_require={
        # the TFDS path is tested offline (mock data, and a data_dir prepared by a real builder), so the test extra brings the tfds extra
        # setuptools and wheel: tests/test_packaging.py builds the wheel without build isolation (no network)
        # xplique (the IG parity test) pins tensorflow[and-cuda]<=2.20, so the README's test command installs it
        # with --no-deps; these are the modules its import needs
        "test": ["pytest>=7", "pytest-xdist>=3", "nbmake>=1.5", "ipykernel", "lime>=0.2", TF_KERAS,
                 "setuptools>=64", "wheel", *TFDS, "opencv-python-headless", "deprecated",
                 "tensorflow-probability>=0.25"],
        "tfds": TFDS,
        # CUDA and cuDNN wheels for a Linux machine with an NVIDIA GPU (tensorflow alone runs on CPU there)
        "gpu": ["tensorflow[and-cuda]>=2.18,<2.22"],
        # the documentation site (mkdocs.yml): the list of docs/requirements.txt (which says why each is pinned; CI
        # installs that file, without the package), repeated because the sdist holds no docs/ (tests/test_docs.py)
        "docs": ["mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10", "mkdocstrings[python]>=0.29,<2", "mkdocs-jupyter>=0.25,<1"],
    },
    entry_points={"console_scripts": ["tfx-explain=tfx_explain.cli:main"]},
)
