"""The public API is annotated (issue 19 §1), and stays so: every parameter and every return of the public
functions and of the public classes' methods. mypy (a step of .ci/run, configured in pyproject.toml) checks that
the annotations are right; this test checks that none is missing, so a new public function cannot land without."""
import importlib
import inspect
import types
from pathlib import Path

import tfx_explain

# the modules of issue 19 §1, and the attribution / baseline / perturbation entry points explain_keras exposes
MODULES = ["tfx_explain.api", "tfx_explain.explanation", "tfx_explain.ganmex", "tfx_explain.inpainting",
           "tfx_explain.counterfactual", "tfx_explain.metrics", "tfx_explain.data", "tfx_explain.plots",
           "tfx_explain.scale", "tfx_explain.attribution", "tfx_explain.baselines", "tfx_explain.perturbation",
           # the metrics modules that tfx_explain.metrics exports as modules
           "tfx_explain.metrics.baseline_quality", "tfx_explain.metrics.counterfactual",
           "tfx_explain.metrics.localization_boxes", "tfx_explain.metrics.robustness",
           # the fillers of the perturbation methods and metrics (filler= / fill=)
           "tfx_explain.perturbation.fillers"]


def _public_names(module):
    """``__all__``, else the public names the module defines itself (not those it imports)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]
    return [(n, getattr(module, n)) for n in names if n != "__version__"]


def _functions(name, obj):
    """(qualified name, function) of a public function, or of a package class's public methods and __init__."""
    if isinstance(obj, types.ModuleType):
        return
    if inspect.isclass(obj):
        if not obj.__module__.startswith("tfx_explain"):
            return
        for klass in obj.__mro__:  # methods inherited from the package's own (private) base classes too
            if not klass.__module__.startswith("tfx_explain"):
                continue
            for key, value in vars(klass).items():
                if key.startswith("_") and key != "__init__":
                    continue
                value = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                value = value.fget if isinstance(value, property) else value
                if inspect.isfunction(value):
                    yield f"{name}.{key}", value
        return
    if inspect.isfunction(obj) and obj.__module__.startswith("tfx_explain"):
        yield name, obj


def _public_functions():
    found = {}
    for module_name in ["tfx_explain", *MODULES]:
        module = importlib.import_module(module_name)
        for name, obj in _public_names(module):
            for qualified, function in _functions(f"{module_name}.{name}", obj):
                found.setdefault(f"{function.__module__}.{function.__qualname__}", (qualified, function))
    return sorted(found.values(), key=lambda item: item[0])


def _missing(function):
    signature = inspect.signature(function)
    missing = [p for p, v in signature.parameters.items()
               if v.annotation is inspect.Parameter.empty and p not in ("self", "cls")]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_every_public_function_is_annotated():
    functions = _public_functions()
    assert len(functions) > 180  # explain_keras, Explanation and the listed modules: the walk found them
    names = {q for q, _ in functions}
    for expected in ("tfx_explain.explain_keras", "tfx_explain.Explanation.plot", "tfx_explain.ganmex.train",
                     "tfx_explain.metrics.deletion", "tfx_explain.scale.explain_dataset",
                     "tfx_explain.attribution.integrated_gradients", "tfx_explain.baselines.resolve",
                     "tfx_explain.perturbation.rise", "tfx_explain.metrics.robustness.robustness"):
        assert expected in names, expected
    missing = {q: m for q, f in functions if (m := _missing(f))}
    assert not missing, f"public functions without annotations (parameter names, or 'return'): {missing}"


def test_the_check_finds_a_missing_annotation():
    def partly(x: int, y, *, z: str = "a"):
        return x

    def full(x: int) -> int:
        return x

    assert _missing(partly) == ["y", "return"]
    assert _missing(full) == []


def test_annotations_cost_nothing_at_run_time():
    """Annotations are strings (PEP 563) and the type-only names live under TYPE_CHECKING: the aliases module
    imports neither TensorFlow nor Keras."""
    import subprocess
    import sys

    probe = ("import sys, tfx_explain._typing as t; assert t.Model and t.Images; "
             "print(sorted(m for m in ('tensorflow', 'keras', 'tf_keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_py_typed_ships_beside_the_package():
    """PEP 561: without the marker, type checkers ignore the annotations of an installed package (the wheel's
    copy is checked in tests/test_packaging.py)."""
    assert (Path(tfx_explain.__file__).parent / "py.typed").is_file()
