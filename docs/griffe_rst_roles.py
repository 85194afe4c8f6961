"""A griffe extension for the API reference: the docstrings cross-reference in reStructuredText roles
(:func:`tfx_explain.explain_keras`, :class:`~tfx_explain.targets.ScoreFunction`), which Markdown shows as raw
text; they are rendered as inline code instead (the name after ``~`` shortened to its last part, as Sphinx does).
The sources are not changed."""
import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc):`(~?)([^`]+)`")


def _code(match):
    name = match.group(2)
    return f"`{name.rsplit('.', 1)[-1] if match.group(1) else name}`"


class RstRoles(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code, obj.docstring.value)
