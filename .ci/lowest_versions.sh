#!/usr/bin/env bash
# The lowest-versions check: every requirement at its floor (tensorflow 2.18, numpy 2.0, ...), then the fast test
# modules. Not part of .ci/run: it downloads a second TensorFlow (about 1 GB with its dependencies) and takes
# several minutes, beyond this project's CI budget. Run it by hand, or as an optional CI job, when a floor moves:
#   bash .ci/lowest_versions.sh [venv dir]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-${TMPDIR:-/tmp}/tfx_lowest}
rm -rf "$VENV" && python3 -m venv "$VENV"
PY="$VENV/bin/python"
# name>=floor[,<cap] -> name==floor (the floor itself, not the newest allowed)
sed -n 's/^\([A-Za-z0-9_.-]*\)>=\([0-9][0-9.]*\).*/\1==\2/p' requirements.txt > "$VENV/floors.txt"
TF_MINOR=$(sed -n 's/^tensorflow==\([0-9]*\.[0-9]*\).*/\1/p' "$VENV/floors.txt")
echo "floors:"; cat "$VENV/floors.txt"
"$PY" -m pip install --quiet --upgrade pip
# the tfds extra at its floors too; tensorflow-metadata 1.21 needs protobuf >= 6, which TensorFlow 2.18 forbids
TFDS_FLOORS=$(python3 -c "import ast, re; t = open('setup.py').read(); \
print(' '.join(r.replace('>=', '==') for r in ast.literal_eval(re.search(r'TFDS = (\[.*?\])', t).group(1))))")
"$PY" -m pip install --quiet -r "$VENV/floors.txt" $TFDS_FLOORS "tensorflow-metadata<1.21" "tf_keras==$TF_MINOR.*" \
  pytest "lime>=0.2" "setuptools>=64" wheel
"$PY" -m pip install --quiet --no-deps --no-build-isolation -e .
"$PY" -m pip check
"$PY" -m pip list 2>/dev/null | grep -iE '^(tensorflow|numpy|keras|tf_keras|scipy|scikit-learn|scikit-image|shap) '
TF_CPP_MIN_LOG_LEVEL=2 "$PY" -m pytest -q -p no:cacheprovider tests/test_packaging.py tests/metrics tests/perturbation \
  tests/baselines tests/attribution/test_closed_forms.py tests/data/test_loaders.py
