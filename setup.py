"""Installable package for tfx_explain (``pip install -e .``)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


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
    package_data={"tfx_explain": ["assets/*", "assets/**/*"]},
    include_package_data=True,
    install_requires=_requirements(),
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "nbmake>=1.5", "ipykernel", "lime>=0.2", "tf_keras"],
        "tfds": ["tensorflow-datasets>=4.9"],
    },
    entry_points={"console_scripts": ["tfx-explain=tfx_explain.cli:main"]},
)
