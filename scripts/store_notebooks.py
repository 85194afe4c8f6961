"""Store the notebooks executed, for the docs site (mkdocs-jupyter renders them with ``execute: false``).

    PYTHONPATH=. python -m pytest -q -p no:cacheprovider notebooks --nbmake --overwrite   # run, keep the outputs
    python scripts/store_notebooks.py notebooks/*.ipynb                                  # then clean them

nbmake's ``--overwrite`` stores the outputs of the test run; this script then drops what a reader should not
see: progress-bar redraws (stderr chunks made of carriage returns) and tqdm's "IProgress not found" warning. It
keeps every figure, table and printed result, and rewrites each file atomically.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile


def _noise(output: dict) -> bool:
    if output.get("output_type") != "stream" or output.get("name") != "stderr":
        return False
    text = "".join(output.get("text", ""))
    return text.startswith("\r") or "TqdmWarning" in text or not text.strip()


def clean(path: str) -> int:
    """Drop the noisy outputs of one notebook in place; returns how many were dropped."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    dropped = 0
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            kept = [o for o in cell.get("outputs", []) if not _noise(o)]
            dropped += len(cell.get("outputs", [])) - len(kept)
            cell["outputs"] = kept
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".ipynb")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
    return dropped


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python scripts/store_notebooks.py NOTEBOOK.ipynb [...]")
    for p in sys.argv[1:]:
        print(p, "dropped", clean(p), "outputs")
