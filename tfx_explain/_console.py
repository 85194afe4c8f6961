"""Where progress goes: a live bar on a terminal or in a notebook, otherwise one plain line per interval
(no carriage returns, backspaces or ANSI colours in redirected logs)."""
from __future__ import annotations

import sys
import time


def in_notebook():
    """True inside a Jupyter kernel (where ``isatty`` is False but a widget bar shows)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except AttributeError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def interactive(stream=None):
    """A live progress display is wanted: a terminal on ``stream`` (default stderr) or a notebook."""
    if in_notebook():
        return True
    stream = stream or sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def keras_verbose(verbose):
    """Keras ``fit(verbose=...)`` for ``"auto"``: its bar (1) when interactive, else one line per epoch (2)."""
    if verbose == "auto":
        return 1 if interactive(sys.stdout) else 2
    return verbose


class StepLines:
    """A Keras callback writing one line to stderr every ``every`` steps (and at the last step): step, losses,
    seconds per step. Used by step-based trainers instead of Keras's bar when the output is not interactive."""

    def __new__(cls, *args, **kwargs):
        import keras

        class _StepLines(keras.callbacks.Callback):
            def __init__(self, start, total, every, desc):
                super().__init__()
                self.step, self.total, self.every, self.desc = start, total, max(1, int(every)), desc
                self.started, self.first = None, start

            def on_train_batch_end(self, batch, logs=None):
                if self.started is None:
                    self.started = time.perf_counter()
                self.step += 1
                if self.step % self.every == 0 or self.step == self.total:
                    rate = (time.perf_counter() - self.started) / max(1, self.step - self.first)
                    losses = " ".join(f"{k}={float(v):.4g}" for k, v in sorted((logs or {}).items()))
                    print(f"{self.desc}: step {self.step}/{self.total} {losses} ({rate:.2f} s/step)",
                          file=sys.stderr, flush=True)

        return _StepLines(*args, **kwargs)
