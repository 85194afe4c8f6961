"""``python -m tfx_explain.cli``: the same as ``tfx-explain``."""
import sys

from . import main

sys.exit(main())
