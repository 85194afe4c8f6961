"""The few exception types of tfx_explain.

Every message names the argument at fault and what was expected, e.g.
``target_class: expected ints in [0, 10), got 10 at index 3``. The types subclass the built-in
ones so that generic ``except ValueError`` handlers keep working.
"""


class TfxExplainError(Exception):
    """Base class of every error raised on purpose by tfx_explain."""


class InputError(TfxExplainError, ValueError):
    """An argument has the wrong shape, range, dtype or value."""


class DataNotFoundError(TfxExplainError, FileNotFoundError):
    """A dataset's files are missing; the message says how to get them."""


class ModelError(TfxExplainError, ValueError):
    """A model cannot be used the way it was asked to (e.g. its output is not a class vector)."""


class MismatchError(TfxExplainError, ValueError):
    """A saved artefact was made for another classifier or another configuration."""


class ExactnessWarning(UserWarning):
    """A method that claims an exact property (DeepLIFT's summation-to-delta) could not prove it on this model.

    The message names the op, its Keras layer and the measured residual."""
