"""The traced path from input to score, checked against DeepLIFT's rule table before any computation.

:func:`analyse` runs while the attribution is traced (so it sees exactly the ops that will run, with
DeepLIFT's rules and plain activations), lists the ops that lie between the input and the score, and
reports every op that
neither is linear nor has a rule in :mod:`.rules`: its gradient would silently stand in for a DeepLIFT
multiplier, and summation-to-delta would no longer hold. Each :class:`Finding` names the op, the Keras layer
it belongs to and why it is not covered. A function call whose body hides non-linear ops (a
``keras.layers.TFSMLayer``, a nested ``tf.function`` with its own ops) is *fatal*: the rules cannot reach
inside it, so nothing of DeepLIFT would be applied there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import rules

_CALLS = ("PartitionedCall", "StatefulPartitionedCall")


@dataclass(frozen=True)
class Finding:
    """An op on the traced path that DeepLIFT's rules do not cover."""

    op_type: str
    op_name: str
    layer: str | None
    reason: str
    fatal: bool = False

    def describe(self):
        where = f"layer {self.layer!r}" if self.layer else f"op {self.op_name!r}"
        return f"{self.op_type} in {where} ({self.reason})"


def analyse(inp, out, model, softmax_rule="path"):
    """Findings for the ops between ``inp`` and ``out``, two tensors of the graph being traced.

    Args:
        inp: the [inputs; references] batch tensor; out: the explained scores computed from it with
            DeepLIFT's rules (:func:`~tfx_explain.attribution.rules.deeplift_tracing`).
        model: the Keras model, to name the layer each op belongs to.
        softmax_rule: DeepLIFT's softmax rule ("gradient" keeps the softmax's gradient, by choice).
    Returns a tuple of :class:`Finding`, empty when every op on the path is linear or has a rule.
    """
    library = {f.signature.name: f for f in out.graph.as_graph_def().library.function}
    dependent = rules.forward_reach(inp)
    layers = _layer_names(model)
    findings, seen = [], set()
    for op in _path_ops(inp, out, dependent):
        finding = _classify(op, dependent, library, softmax_rule)
        if finding is None:
            continue
        layer = _layer_of(op.name, layers)
        key = (finding[0], layer or op.name)
        if key not in seen:
            seen.add(key)
            findings.append(Finding(op.type, op.name, layer, finding[0], finding[1]))
    return tuple(findings)


def _path_ops(inp, out, dependent):
    """Ops with an input that depends on ``inp`` and an output that ``out`` depends on, in graph order."""
    upstream, stack = set(), [out.op]
    while stack:
        op = stack.pop()
        if op.name in upstream:
            continue
        upstream.add(op.name)
        stack.extend(t.op for t in op.inputs)
    graph_ops = out.graph.get_operations()
    return [op for op in graph_ops if op.name in upstream and any(t.name in dependent for t in op.inputs)]


def _classify(op, dependent, library, softmax_rule):
    """(reason, fatal) when ``op`` is not covered, else None."""
    t = op.type
    if t in rules.RULES:  # (softmax_rule="gradient" keeps the softmax's gradient by the user's choice)
        return None
    if t == "IdentityN" and "_gradient_op_type" in op.node_def.attr:
        return ("a tf.custom_gradient block: its own gradient replaces DeepLIFT's rules", False)
    if t == "Cast" and not op.outputs[0].dtype.is_floating:
        return (f"casts to {op.outputs[0].dtype.name}: the score depends on the input through a non-float value",
                False)
    if t in rules.MULTILINEAR:
        operands = [x for x in op.inputs if x.dtype.is_floating and x.name in dependent]
        if len(operands) > 1:
            return ("both operands depend on the input (a bilinear op has no rule)", False)
        return None
    if t in rules.LINEAR or t in rules.NEUTRAL:
        return None
    if t in _CALLS:
        hidden = sorted(_hidden_ops(op.get_attr("f").name, library) - rules.LINEAR - rules.NEUTRAL - set(_CALLS))
        if hidden:
            return (f"a function call (e.g. a TFSMLayer or a nested tf.function) hides {', '.join(hidden[:6])} "
                    "from DeepLIFT's rules", True)
        return None
    return ("no DeepLIFT rule for this op", False)


def _hidden_ops(name, library, seen=None):
    """Op types inside a function of the graph's library, nested calls included."""
    seen = set() if seen is None else seen
    if name in seen or name not in library:
        return set()
    seen.add(name)
    types = set()
    for node in library[name].node_def:
        types.add(node.op)
        if node.op in _CALLS:
            types |= _hidden_ops(node.attr["f"].func.name, library, seen)
    return types


def _layer_names(model):
    names = set()
    stack = [model]
    while stack:
        layer = stack.pop()
        names.add(getattr(layer, "name", None))
        stack.extend(getattr(layer, "layers", None) or [])
    names.discard(None)
    return names


def _layer_of(op_name, layer_names):
    """The deepest Keras layer named in an op's name scope (TF adds ``_1``, ``_2`` to re-entered scopes)."""
    found = None
    for part in op_name.split("/")[:-1]:
        candidates = [part] + [re.sub(r"_\d+$", "", part)]
        for c in candidates:
            if c in layer_names:
                found = c
                break
    return found


def ops_on_path(inp, out, model, types, custom_gradients=False, skip_layers=()):
    """Findings for the ops of ``types`` between ``inp`` and ``out`` (and, with ``custom_gradients``, every
    ``tf.custom_gradient`` block, e.g. Keras' swish), one per (op type, Keras layer); ``skip_layers`` are not
    reported. Used by guided backprop to name the activations that keep their plain gradient."""
    dependent = rules.forward_reach(inp)
    layers = _layer_names(model)
    findings, seen = [], set()
    for op in _path_ops(inp, out, dependent):
        custom = op.type == "IdentityN" and "_gradient_op_type" in op.node_def.attr
        if op.type not in types and not (custom_gradients and custom):
            continue
        layer = _layer_of(op.name, layers)
        if layer in skip_layers or (op.type, layer or op.name) in seen:
            continue
        seen.add((op.type, layer or op.name))
        reason = "a tf.custom_gradient block, e.g. swish" if custom else "not ReLU-family"
        findings.append(Finding(op.type, op.name, layer, reason))
    return tuple(findings)
