"""IG and EG to a chosen completeness: ``steps="auto"`` with ``tolerance=`` (issue 18, section 1).

Integrated Gradients. The path integral G(x) = int_0^1 dS_w(b + a (x - b))/dx da is refined level by level with a
NESTED rule, so a refinement evaluates only new nodes and reuses every earlier one:

=============  ===============================  =====================================  ======================
rule           nodes of level k                 I_k from I_{k-1}                        path points
=============  ===============================  =====================================  ======================
``trapezoid``  j / (3 * 2^k), j = 0..3 * 2^k    I_{k-1} / 2 + h sum f(new), h = 1/(3*2^k)  4, 7, 13, ..., 769
``midpoint``   (j + 1/2) / 3^k                  I_{k-1} / 3 + h sum f(new), h = 3^-k       1, 3, 9, ..., 729
``right``      j / 2^k, j = 1..2^k              I_{k-1} / 2 + h sum f(new), h = 2^-k       1, 2, 4, ..., 1024
=============  ===============================  =====================================  ======================

(Plain midpoint doubling is not nested; ``right`` is DeepExplainer's right Riemann sum, nested under doubling.)
A sample stops at the first level k >= 1 where both hold, with A_k = (x - b) * I_k and D = S_w(x) - S_w(b):

* completeness: |sum A_k - D| <= tolerance * |D|;
* stability:    ||A_k - A_{k-1}||_1 <= tolerance * |D|.

Completeness alone is no error estimate (issue 18: maps at 1% completeness after 4-16 steps were 3-10% (L1) away
from a 1024-step reference); the change at the last refinement is the usual a-posteriori estimate of a nested
rule's error. Converged samples leave the batch, so they stop costing model evaluations. A level is only run when
every sample's point count after it stays <= ``max_steps``; samples still open at the last level keep that level's
map and are reported in one warning (how many, the worst residual).

Expected Gradients. References (and their a_k) are drawn in blocks, in the same order as the fixed-step
estimator draws them (:mod:`tfx_explain.rng` streams, a prefix of the same permutation), so a sample that stops
after n draws has exactly the map of ``steps=n``. Per pixel the mean and the sum of squared deviations of the
per-reference terms d_j = (x - b_j) dS(b_j + a_j (x - b_j))/dx are merged across blocks with Chan et al.'s exact
pairwise update; a sample stops when ||SE(A)||_2 <= tolerance * ||A||_2, SE = sqrt(s^2 / n) per pixel.

Everything here is independent of TensorFlow except the two evaluators at the bottom: the drivers take a callback,
so the tests count every evaluation on plain numpy integrands.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import ExactnessWarning, InputError

NESTED_RULES = ("trapezoid", "midpoint", "right")
DEFAULT_RULE = "trapezoid"
DEFAULT_TOLERANCE = 0.01
DEFAULT_MAX_STEPS = 1024
EG_BLOCK = 32  # references drawn per sample per round of steps="auto" EG


def check_auto_options(steps, tolerance, max_steps, rule=None, name="steps"):
    """Raise InputError (one line naming the argument) for bad ``steps`` / ``tolerance`` / ``max_steps`` / ``rule``.

    ``steps`` is a positive int or ``"auto"``; ``tolerance`` a number in (0, 1); ``max_steps`` a positive int;
    ``rule`` (with ``steps="auto"`` on IG) one of :data:`NESTED_RULES`.
    """
    if isinstance(steps, str):
        if steps != "auto":
            raise InputError(f"{name}: expected a positive integer or 'auto', got {steps!r}")
    elif isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise InputError(f"{name}: expected a positive integer or 'auto', got {steps!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not 0 < tolerance < 1:
        raise InputError(f"tolerance: expected a number in (0, 1), got {tolerance!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 1:
        raise InputError(f"max_steps: expected a positive integer, got {max_steps!r}")
    if steps == "auto" and rule is not None and rule not in NESTED_RULES:
        raise InputError(f"rule: steps='auto' refines a nested rule, one of {NESTED_RULES}; got {rule!r}")


@dataclass(frozen=True)
class Level:
    """One refinement: I_k = shrink * I_{k-1} + sum_j weights_j f(nodes_j) over the new nodes only."""

    nodes: np.ndarray
    weights: np.ndarray
    shrink: float
    points: int  # path points after this level


def level(rule, k):
    """Level ``k`` (0, 1, ...) of a nested rule (module table)."""
    if rule == "trapezoid":  # level 0: 3 intervals, end points weigh h / 2
        m = 3 * 2 ** k
        if k == 0:
            return Level(np.arange(4) / 3.0, np.array([1, 2, 2, 1]) / 6.0, 0.0, 4)
        return Level(np.arange(1, m, 2) / m, np.full(m // 2, 1.0 / m), 0.5, m + 1)
    if rule == "midpoint":
        m = 3 ** k
        j = np.arange(m)
        new = j[j % 3 != 1] if k else j  # j % 3 == 1 are the previous level's midpoints
        return Level((new + 0.5) / m, np.full(len(new), 1.0 / m), 1.0 / 3.0 if k else 0.0, m)
    if rule == "right":
        m = 2 ** k
        new = np.arange(1, m + 1, 2) if k else np.array([1])
        return Level(new / m, np.full(len(new), 1.0 / m), 0.5 if k else 0.0, m)
    raise InputError(f"rule: steps='auto' refines a nested rule, one of {NESTED_RULES}; got {rule!r}")


def levels_within(rule, max_steps):
    """The number of levels whose point count stays <= ``max_steps`` (at least 1)."""
    k = 0
    while level(rule, k + 1).points <= max_steps:
        k += 1
    return k + 1


@dataclass
class AutoResult:
    """What :func:`integrate_auto` returns (per sample)."""

    integral: np.ndarray  # (N, D) float64 I at the level each sample stopped
    steps: np.ndarray  # (N,) path points used
    residual: np.ndarray  # (N,) |sum A - D| / |D| (0 where D = 0 and A = 0)
    change: np.ndarray  # (N,) ||A_k - A_{k-1}||_1 / |D| at the last level
    converged: np.ndarray  # (N,) bool
    evaluations: int  # path points evaluated in all


def _relative(value, scale):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, value / np.where(scale > 0, scale, 1), np.where(value > 0, np.inf, 0.0))


def integrate_auto(evaluate, diff, delta, *, tolerance, max_steps, rule=DEFAULT_RULE):
    """Refine each sample's path integral until completeness and stability hold (module docstring).

    Args:
        evaluate: ``evaluate(rows, nodes, weights) -> (len(rows), D)``: sum_j weights_j * grad S at
            b + nodes_j (x - b) for each sample in ``rows`` (indices into the batch), as float64.
        diff: (N, D) x - b, flattened; delta: (N,) S_w(x) - S_w(b).
    Returns an :class:`AutoResult`.
    """
    n = len(diff)
    integral = np.zeros(diff.shape, np.float64)
    steps = np.zeros(n, np.int64)
    residual = np.full(n, np.inf)
    change = np.full(n, np.inf)
    converged = np.zeros(n, bool)
    scale = np.abs(np.asarray(delta, np.float64))
    active = np.arange(n)
    evaluations = 0
    for k in range(levels_within(rule, max_steps)):
        if not len(active):
            break
        lv = level(rule, k)
        new = evaluate(active, lv.nodes, lv.weights)
        evaluations += len(active) * len(lv.nodes)
        prev = integral[active]
        cur = lv.shrink * prev + new
        integral[active] = cur
        steps[active] = lv.points
        d = diff[active]
        a_cur = d * cur
        residual[active] = _relative(np.abs(a_cur.sum(axis=1) - delta[active]), scale[active])
        if k == 0:
            continue
        change[active] = _relative(np.abs(a_cur - d * prev).sum(axis=1), scale[active])
        done = (residual[active] <= tolerance) & (change[active] <= tolerance)
        converged[active[done]] = True
        active = active[~done]
    return AutoResult(integral, steps, residual, change, converged, evaluations)


def warn_unconverged(method, converged, residual, tolerance, max_steps, *, what="path points", change=None,
                     measure="completeness residual |sum A - (S(x) - S(b))| / |S(x) - S(b)|"):
    """One warning naming how many samples missed ``tolerance`` within ``max_steps`` and the worst residual."""
    missed = np.flatnonzero(~converged)
    if not len(missed):
        return
    worst = missed[np.argmax(residual[missed])]
    also = f", largest last change {np.max(change[missed]):.3g}" if change is not None else ""
    warnings.warn(f"{method}: {len(missed)} of {len(converged)} samples did not reach tolerance={tolerance:g} within "
                  f"max_steps={max_steps} {what}; worst {measure} = {residual[worst]:.3g} (sample {worst}){also}. "
                  "Their maps are the last refinement computed; raise max_steps or tolerance", ExactnessWarning,
                  stacklevel=6)  # the caller of explain_keras


@dataclass
class MomentState:
    """Per-sample running count, mean and sum of squared deviations (float64), merged exactly across blocks."""

    count: np.ndarray  # (N,)
    mean: np.ndarray  # (N, D)
    m2: np.ndarray  # (N, D)

    @classmethod
    def empty(cls, n, d):
        return cls(np.zeros(n, np.int64), np.zeros((n, d)), np.zeros((n, d)))

    def merge(self, rows, count, mean, m2):
        """Chan, Golub & LeVeque (1979) pairwise update of rows ``rows`` with a block's (count, mean, M2)."""
        na = self.count[rows].astype(np.float64)[:, None]
        nb = np.asarray(count, np.float64)[:, None]
        total = na + nb
        delta = mean - self.mean[rows]
        self.mean[rows] += delta * (nb / total)
        self.m2[rows] += m2 + delta ** 2 * (na * nb / total)
        self.count[rows] += np.asarray(count, np.int64)

    def relative_se(self, rows):
        """||SE(mean)||_2 / ||mean||_2 per row, SE = sqrt(s^2 / n) with s^2 = M2 / (n - 1); inf for n < 2."""
        n = self.count[rows].astype(np.float64)
        se2 = self.m2[rows].sum(axis=1) / np.maximum(n - 1, 1) / np.maximum(n, 1)
        norm = np.sqrt((self.mean[rows] ** 2).sum(axis=1))
        out = _relative(np.sqrt(se2), norm)
        return np.where(n >= 2, out, np.inf)


def expect_auto(evaluate, n, d, *, tolerance, max_steps, block=EG_BLOCK):
    """Draw blocks until ||SE||_2 <= tolerance ||mean||_2 per sample, up to ``max_steps`` draws.

    Args:
        evaluate: ``evaluate(rows, start, stop) -> (count, mean, m2)``: for each sample in ``rows`` the
            statistics (float64, (len(rows),), (len(rows), D), (len(rows), D)) of its draws ``start:stop``.
        n, d: samples and values per sample.
    Returns (MomentState, relative SE (N,), converged (N,), evaluations).
    """
    state = MomentState.empty(n, d)
    rel = np.full(n, np.inf)
    converged = np.zeros(n, bool)
    active = np.arange(n)
    start, evaluations = 0, 0
    while len(active) and start < max_steps:
        stop = min(start + block, max_steps)
        count, mean, m2 = evaluate(active, start, stop)
        state.merge(active, count, mean, m2)
        evaluations += len(active) * (stop - start)
        rel[active] = state.relative_se(active)
        done = rel[active] <= tolerance
        converged[active[done]] = True
        active = active[~done]
        start = stop
    return state, rel, converged, evaluations


# --- the TensorFlow evaluators: (sample, node) pairs in calls of at most ``points`` model evaluations ---------------

def _pairs(rows_count, per_sample, points):
    """Split ``rows_count`` samples x ``per_sample`` pairs, sample-major, into calls of <= ``points`` pairs:
    yields (first sample, samples, first pair of the sample, pairs per sample) with whole samples per call where
    a sample fits, else one sample's pairs in pieces."""
    if per_sample <= points:
        step = max(1, points // per_sample)
        for s in range(0, rows_count, step):
            yield s, min(step, rows_count - s), 0, per_sample
    else:
        for s in range(rows_count):
            for p in range(0, per_sample, points):
                yield s, 1, p, min(points, per_sample - p)


def _spec(shape, dtype="float32"):
    import tensorflow as tf

    return tf.TensorSpec(shape, getattr(tf, dtype))


def ig_points_function(score_fn, image_shape, num_weights):
    """The traced ``(xs, bs, ws, idx, alpha, coef) -> (len(xs), H, W, C)``: for each pair p the gradient of S_w at
    bs[idx_p] + alpha_p (xs[idx_p] - bs[idx_p]) times coef_p, summed per sample. One trace for every size."""
    import tensorflow as tf

    def build():
        def points_sum(xs, bs, ws, idx, alpha, coef):
            xp, bp = tf.gather(xs, idx), tf.gather(bs, idx)
            bcast = tf.concat([tf.shape(idx), tf.ones([tf.rank(xs) - 1], tf.int32)], 0)
            pts = bp + tf.reshape(alpha, bcast) * (xp - bp)
            with tf.GradientTape() as tape:
                tape.watch(pts)
                out = score_fn.explained(pts, tf.gather(ws, idx))
            g = tape.gradient(out, pts) * tf.reshape(coef, bcast)
            return tf.math.unsorted_segment_sum(g, idx, tf.shape(xs)[0])

        return points_sum

    shape = tuple(int(d) for d in image_shape)
    key = ("integrated_gradients_auto", shape, int(num_weights))
    fresh = key not in score_fn._compiled
    fn = score_fn.compiled(key, build)
    if fresh:  # traced once for every number of samples and pairs
        fn.get_concrete_function(_spec((None,) + shape), _spec((None,) + shape), _spec((None, int(num_weights))),
                                 _spec((None,), "int32"), _spec((None,)), _spec((None,)))
    return fn


def ig_evaluator(score_fn, x, baselines, weights, points):
    """The ``evaluate`` callback of :func:`integrate_auto` for a model (float64 (rows, D) sums)."""
    fn = ig_points_function(score_fn, x.shape[1:], weights.shape[1])
    flat = int(np.prod(x.shape[1:]))

    def evaluate(rows, nodes, node_weights):
        out = np.zeros((len(rows), flat), np.float64)
        nodes, node_weights = nodes.astype(np.float32), node_weights.astype(np.float32)
        for s, count, p0, per in _pairs(len(rows), len(nodes), points):
            sel = rows[s : s + count]
            idx = np.repeat(np.arange(count, dtype=np.int32), per)
            alpha = np.tile(nodes[p0 : p0 + per], count)
            coef = np.tile(node_weights[p0 : p0 + per], count)
            part = fn(x[sel], baselines[sel], weights[sel], idx, alpha, coef)
            out[s : s + count] += np.asarray(part, np.float64).reshape(count, flat)
        return out

    return evaluate


def eg_points_function(score_fn, image_shape, num_weights):
    """The traced ``(xs, refs, ws, idx, alpha) -> (count, mean, M2, sum of S_w(ref))`` per sample of the terms
    d_p = (x - ref_p) * dS_w(ref_p + alpha_p (x - ref_p))/dx for pairs p (x = xs[idx_p])."""
    import tensorflow as tf

    def build():
        def moments(xs, refs, ws, idx, alpha):
            n = tf.shape(xs)[0]
            xp, wp = tf.gather(xs, idx), tf.gather(ws, idx)
            bcast = tf.concat([tf.shape(idx), tf.ones([tf.rank(xs) - 1], tf.int32)], 0)
            diff = xp - refs
            pts = refs + tf.reshape(alpha, bcast) * diff
            with tf.GradientTape() as tape:
                tape.watch(pts)
                out = score_fn.explained(pts, wp)
            d = tape.gradient(out, pts) * diff
            count = tf.math.unsorted_segment_sum(tf.ones_like(alpha), idx, n)
            cshape = tf.concat([[n], tf.ones([tf.rank(xs) - 1], tf.int32)], 0)
            mean = tf.math.unsorted_segment_sum(d, idx, n) / tf.reshape(tf.maximum(count, 1.0), cshape)
            m2 = tf.math.unsorted_segment_sum(tf.square(d - tf.gather(mean, idx)), idx, n)
            ref_scores = tf.math.unsorted_segment_sum(score_fn.explained(refs, wp), idx, n)
            return count, mean, m2, ref_scores

        return moments

    shape = tuple(int(d) for d in image_shape)
    key = ("expected_gradients_auto", shape, int(num_weights))
    fresh = key not in score_fn._compiled
    fn = score_fn.compiled(key, build)
    if fresh:
        fn.get_concrete_function(_spec((None,) + shape), _spec((None,) + shape), _spec((None, int(num_weights))),
                                 _spec((None,), "int32"), _spec((None,)))
    return fn


def eg_evaluator(score_fn, x, pool, ref_index, alphas, weights, points):
    """The ``evaluate`` callback of :func:`expect_auto`; also sums S_w over each sample's references."""
    fn = eg_points_function(score_fn, x.shape[1:], weights.shape[1])
    flat = int(np.prod(x.shape[1:]))
    ref_score_sum = np.zeros(len(x), np.float64)

    def evaluate(rows, start, stop):
        per = stop - start
        state = MomentState.empty(len(rows), flat)
        local = np.arange(len(rows))
        for s, count, p0, piece in _pairs(len(rows), per, points):
            sel = rows[s : s + count]
            draws = slice(start + p0, start + p0 + piece)
            idx = np.repeat(np.arange(count, dtype=np.int32), piece)
            refs = pool[ref_index[sel, draws].reshape(-1)]
            alpha = alphas[sel, draws].reshape(-1).astype(np.float32)
            c, mean, m2, scores = fn(x[sel], refs, weights[sel], idx, alpha)
            state.merge(local[s : s + count], np.asarray(c).astype(np.int64),
                        np.asarray(mean, np.float64).reshape(count, flat), np.asarray(m2, np.float64).reshape(count, flat))
            ref_score_sum[sel] += np.asarray(scores, np.float64)
        return state.count, state.mean, state.m2

    evaluate.ref_score_sum = ref_score_sum
    return evaluate
