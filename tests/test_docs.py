"""The documentation site stays complete: every notebook and public module has its page, and the Quick start
commands on the site are the README's (whose second one CI runs). `mkdocs build --strict` in .ci/run checks
links and docstrings; these checks need no mkdocs."""
import json
import re
from pathlib import Path

import tfx_explain

ROOT = Path(__file__).resolve().parents[1]


def _first_fenced_block(text):
    match = re.search(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    assert match, "no fenced code block"
    return match.group(1)


def test_every_notebook_is_in_the_site_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    assert [n for n in notebooks if f"notebooks/{n}" not in nav] == []
    assert (ROOT / "docs" / "notebooks").resolve() == (ROOT / "notebooks").resolve()


def test_every_public_module_has_an_api_reference_page():
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: tfx_explain\.(\w+)", pages, re.M))
    modules = {name for name in tfx_explain.__all__ if name[0].islower() and name not in ("explain_keras",)}
    modules.discard("__version__")
    assert modules - documented == set()
    assert "::: tfx_explain.api.explain_keras" in pages and "::: tfx_explain.explanation.Explanation" in pages


def test_the_site_shows_the_readme_quick_start():
    readme = _first_fenced_block((ROOT / "README.md").read_text())
    site = _first_fenced_block((ROOT / "docs" / "getting-started.md").read_text())
    assert readme == site
    assert readme.splitlines()[1].endswith("--nbmake")  # the line .ci/run executes


def test_the_docs_extra_is_docs_requirements():
    """setup.py repeats docs/requirements.txt (the sdist has no docs/): the two lists must not drift."""
    lines = (ROOT / "docs" / "requirements.txt").read_text().splitlines()
    wanted = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    extra = re.search(r'^ *"docs": \[(.*)\],$', (ROOT / "setup.py").read_text(), re.M)  # one line
    assert extra and re.findall(r'"([^"]+)"', extra.group(1)) == wanted


def test_notebooks_are_stored_executed_without_progress_noise():
    """The site renders the notebooks with execute: false, so each is stored with the outputs of a test run
    (``scripts/store_notebooks.py``): every notebook has executed code cells with outputs, and no progress-bar
    redraws are left in them."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from store_notebooks import _noise

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert any(c.get("outputs") for c in cells), f"{path.name} is stored without outputs"
        assert all(c.get("execution_count") for c in cells if c["source"]), f"{path.name} has unexecuted cells"
        assert not [o for c in cells for o in c.get("outputs", []) if _noise(o)], path.name
