"""The declared requirements hold on this installation, and the wheel carries (and loads) the bundled inpainter."""
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _declared():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(ln.strip()) for ln in lines if ln.strip() and not ln.startswith("#")]


def test_installed_versions_satisfy_requirements_txt():
    bad = []
    for req in _declared():
        version = importlib.metadata.version(req.name)
        if not req.specifier.contains(version, prereleases=True):
            bad.append(f"{req.name} {version} not in {req.specifier}")
    assert not bad, bad


def test_numpy_floor_is_the_one_the_code_needs():
    # deletion, insertion and ROAR integrate with np.trapezoid, which NumPy 1.x lacks
    numpy = next(r for r in _declared() if r.name == "numpy")
    assert not numpy.specifier.contains("1.26.4") and numpy.specifier.contains("2.0.0")
    tf = next(r for r in _declared() if r.name == "tensorflow")
    assert not tf.specifier.contains("2.17.1") and tf.specifier.contains("2.18.0")  # NumPy 2 needs TF >= 2.18


def test_tf_keras_matches_the_tensorflow_minor():
    minor = [re.match(r"(\d+\.\d+)", importlib.metadata.version(p)).group(1) for p in ("tensorflow", "tf_keras")]
    assert minor[0] == minor[1], minor


def test_tfds_hint_names_the_extra(monkeypatch):
    from tfx_explain.data import tfds_source
    from tfx_explain.errors import DataNotFoundError

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails as if not installed
    with pytest.raises(DataNotFoundError, match=r'pip install "tfx_explain\[tfds\]"'):
        tfds_source.load("mnist", "test")


def test_wheel_holds_the_inpainter_and_loads_it(tmp_path):
    """Build the wheel, install it alone into a venv that sees this machine's TensorFlow, load the inpainter."""
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="3")
    # built from a copy of what the sdist holds: setuptools writes build/ beside the sources, and a stale build/
    # in the checkout would leak deleted modules into later wheels
    src = tmp_path / "src"
    shutil.copytree(ROOT / "tfx_explain", src / "tfx_explain", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / name, src / name)
    # no build isolation: the backend (setuptools) is already here, and the build needs no network
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(src)], check=True, env=env, capture_output=True)
    wheel = next(tmp_path.glob("tfx_explain-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("generator.keras", "metadata.json"):
        assert f"tfx_explain/assets/inpainter_composite/{asset}" in names
    assert "tfx_explain/py.typed" in names  # PEP 561: type checkers read the package's annotations
    venv.create(tmp_path / "venv", system_site_packages=True, with_pip=False)
    python = str(tmp_path / "venv" / "bin" / "python")
    # installed with this interpreter's pip, into the venv's site-packages, which come before the editable checkout
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)],
                   check=True, env=env, capture_output=True)
    probe = ("import numpy as np, tfx_explain, tfx_explain.inpainting as ip; "
             "print(tfx_explain.__file__); p = ip.load(); x = np.full((1, 64, 64, 3), 0.5, 'float32'); "
             "m = np.zeros(x.shape[:3], 'float32'); m[:, 2:6, 2:6] = 1; print(p.inpaint(x, m).shape)")
    out = subprocess.run([python, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    first, shape = out.stdout.strip().splitlines()[-2:]
    assert first.startswith(site), first  # the wheel's copy, not the checkout
    assert shape.startswith("(1,"), shape


def test_tfds_missing_builder_module_names_it(monkeypatch):
    """TFDS builders import importlib_resources without declaring it: the error names the module and the extra."""
    import tensorflow_datasets as tfds  # the test extra brings it

    from tfx_explain.data import tfds_source
    from tfx_explain.errors import DataNotFoundError

    def load(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'importlib_resources'", name="importlib_resources")

    monkeypatch.setattr(tfds, "load", load)
    with pytest.raises(DataNotFoundError, match=r"'importlib_resources'.*tfx_explain\[tfds\]"):
        tfds_source.load("mnist", "test")


def test_tfds_that_fails_at_import_names_the_cause(monkeypatch):
    from tfx_explain.data import tfds_source
    from tfx_explain.errors import DataNotFoundError

    class Broken:  # a meta path finder standing in for a tensorflow-datasets that crashes while importing
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow_datasets":
                raise TypeError("Descriptors cannot be created directly")

    monkeypatch.delitem(sys.modules, "tensorflow_datasets", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    with pytest.raises(DataNotFoundError, match="fails at import.*TypeError: Descriptors.*tensorflow-metadata<1.21"):
        tfds_source.load("mnist", "test")
