"""Path methods: Integrated Gradients (Sundararajan et al., 2017) and Expected Gradients (Erion et al.).

IG_i(x) = (x_i - b_i) * int_0^1 dS_w(b + a (x - b))/dx_i da            (ganmex_main.txt §2.1)
EG_i(x) = E_{b ~ D, a ~ U(0,1)} [(x_i - b_i) dS_w(b + a (x - b))/dx_i]    (ganmex_main.txt §2.1)

IG defaults to DeepExplain's right Riemann sum, a_k = k/m for k = 1..m, with m = 200 steps
(ganmex_appendix.txt A.3; ganmex.md §3.1). EG follows the reference harness (ganmex.md §3.2, §3.4):
m = 200 references per input drawn without replacement from D (for one-vs-one the training images of
the target class), one reference per step, and one a_k ~ U(0, 1) per step shared by every input.

One-vs-one EG has two modes (``one_vs_one=``). ``"delta"`` (ours) explains the score delta
S_w = S_co - S_ct, like every other method (ganmex_appendix.txt A.3). ``"reference"`` is what the
reference harness computed for the paper's EG column (ganmex.md §3.3 step 4, §3.4): the second of its
two runs kept as is, i.e. S_co alone, EG_i = E_{b ~ D_ct, a} [(x_i - b_i) dS_co(b + a (x - b))/dx_i],
with the references b still drawn from class c_t. (The harness explains the predicted class; it is c_o
for the correctly classified inputs the reproduction explains, and ``original_class=None`` gives it.)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..batching import map_batches
from ..errors import InputError
from . import adaptive
from .input_gradient import fast_input_gradients
from ._common import DEFAULT_BATCH, MethodResult, blocked, path_points_per_call, steps_per_block

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .._typing import Float32, Progress, Strategy
    from ..baselines.base import ReferenceSet
    from ..targets import ScoreFunction

Rule = Literal["riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid", "gauss_legendre"]

RULES = ("riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid", "gauss_legendre")


def quadrature(steps: int, rule: Rule = "riemann_right") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes a_k in [0, 1] and weights c_k with sum_k c_k f(a_k) ~ int_0^1 f(a) da."""
    if int(steps) < 1:
        raise InputError(f"steps: expected a positive int, got {steps}")
    m = int(steps)
    if rule == "riemann_right":
        return np.arange(1, m + 1) / m, np.full(m, 1.0 / m)
    if rule == "riemann_left":
        return np.arange(0, m) / m, np.full(m, 1.0 / m)
    if rule == "riemann_middle":
        return (np.arange(m) + 0.5) / m, np.full(m, 1.0 / m)
    if rule == "riemann_trapezoid":
        if m < 2:
            raise InputError("steps: the trapezoid rule needs at least 2 steps")
        w = np.full(m, 1.0 / (m - 1))
        w[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, m), w
    if rule == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(m)
        return (nodes + 1) / 2, weights / 2
    raise InputError(f"rule: expected one of {RULES}, got {rule!r}")


def _path_chunk(score_fn, alphas, coefs, block):
    """A chunk function for ``map_batches``: integrates gradients along b + a (x - b) for given nodes."""
    import tensorflow as tf

    a_blocks = tf.constant(blocked(alphas.astype(np.float32), block))
    c_blocks = tf.constant(blocked(coefs.astype(np.float32), block))

    def chunk(x, b, w):
        c = tf.shape(x)[0]
        diff = x - b
        w_rep = tf.tile(w, [block, 1])

        def body(i, acc):
            a = tf.reshape(a_blocks[i], (block, 1, 1, 1, 1))
            points = tf.reshape(b[None] + a * diff[None], tf.concat([[block * c], tf.shape(x)[1:]], 0))
            with fast_input_gradients():  # tf.gradients: GradientTape ignores the gradient override
                out = score_fn.explained(points, w_rep)
            g = tf.reshape(tf.gradients(out, points)[0], tf.concat([[block, c], tf.shape(x)[1:]], 0))
            return i + 1, acc + tf.tensordot(c_blocks[i], g, axes=1)

        _, total = tf.while_loop(lambda i, _: i < a_blocks.shape[0], body, (0, tf.zeros_like(x)))
        return total * diff

    return chunk


def integrated_gradients(score_fn: ScoreFunction, x: Float32, weights: Float32, baselines: Float32, *,
                         steps: int | Literal["auto"] = 200, rule: Rule | None = None,
                         tolerance: float = adaptive.DEFAULT_TOLERANCE, max_steps: int = adaptive.DEFAULT_MAX_STEPS,
                         batch_size: int | None = None, strategy: Strategy | None = None,
                         progress: Progress = False) -> MethodResult:
    """Integrated Gradients of S_w from each sample's baseline to the sample.

    Args:
        x: (N, H, W, C) inputs.
        weights: (N, K) output weights w.
        baselines: (N, H, W, C) baselines b, one per input.
        steps: number of path points m (200 as in ganmex_appendix.txt A.3), or ``"auto"``: refine a nested rule
            per sample until |sum A - (S(x) - S(b))| <= tolerance |S(x) - S(b)| and the map's change at the last
            refinement ||A_k - A_{k-1}||_1 <= tolerance |S(x) - S(b)|, up to ``max_steps`` path points
            (:mod:`~tfx_explain.attribution.adaptive`; issue 18 §1). Converged samples leave the batch.
        rule: quadrature. Fixed steps: one of :data:`RULES`, default ``"riemann_right"``, DeepExplain's (and the
            reference's) choice. ``steps="auto"``: a nested rule, ``"trapezoid"`` (default; doubling from 3
            intervals), ``"midpoint"`` (tripling) or ``"right"`` (doubling); the ``riemann_`` names map to them.
        tolerance: relative tolerance of ``steps="auto"``, in (0, 1).
        max_steps: the cap of ``steps="auto"`` on path points per sample.
        batch_size: model evaluations (path points) per traced call, which bounds memory; None: sized from
            about 1 GB of activations (:func:`~tfx_explain.attribution._common.path_points_per_call`).
    Returns:
        (N, H, W, C) attributions in units of S. With ``steps="auto"`` the extras hold ``steps`` ((N,) path points
        each sample used), ``converged`` ((N,) bool) and ``refinement_change`` ((N,) the last relative L1 change);
        explain_keras recomputes the scores S_w(x), S_w(b) (with noise_samples= it explains the clean x). Samples
        that miss the tolerance within ``max_steps`` are named in one :class:`~tfx_explain.errors.ExactnessWarning`
        (how many, the worst residual).
    Raises:
        InputError: bad ``steps``, ``tolerance``, ``max_steps`` or ``rule``; ``steps="auto"`` under a strategy
            with several replicas.
    Completeness: sum_i IG_i = S_w(x) - S_w(b) up to the quadrature error; explain_keras reports the
    residual as ``convergence_delta``.
    """
    check_options({"steps": steps, "rule": rule, "tolerance": tolerance, "max_steps": max_steps})
    if steps == "auto":
        return _integrated_gradients_auto(score_fn, x, weights, baselines, _nested(rule), tolerance, max_steps,
                                          batch_size, strategy)
    rule = "riemann_right" if rule is None else rule
    alphas, coefs = quadrature(steps, rule)
    points = path_points_per_call(score_fn, x.shape[1:], weights.shape[1], batch_size)
    chunk_size = max(1, min(batch_size or DEFAULT_BATCH, points))
    block = steps_per_block(min(chunk_size, len(x)), len(alphas), points)
    fn = score_fn.compiled(("integrated_gradients", int(steps), rule, block),
                           lambda: _path_chunk(score_fn, alphas, coefs, block))
    out = map_batches(fn, [x, baselines, weights], chunk_size, strategy=strategy, progress=progress,
                      desc="integrated_gradients")
    return MethodResult(out, {"steps": int(steps), "rule": rule})


_AUTO_RULES: dict[str | None, str] = {None: adaptive.DEFAULT_RULE, "riemann_trapezoid": "trapezoid", "riemann_middle": "midpoint",
               "riemann_right": "right", **{r: r for r in adaptive.NESTED_RULES}}


def _nested(rule):
    if rule not in _AUTO_RULES:
        raise InputError(f"rule: steps='auto' refines a nested rule, one of {adaptive.NESTED_RULES}; got {rule!r}")
    return _AUTO_RULES[rule]


def check_options(options):
    """The up-front checks of IG's and EG's ``steps`` / ``tolerance`` / ``max_steps`` / ``rule`` (explain_keras
    calls this before any work). Raises InputError naming the argument."""
    steps = options.get("steps", 200)
    rule = options.get("rule")
    adaptive.check_auto_options(steps, options.get("tolerance", adaptive.DEFAULT_TOLERANCE),
                                options.get("max_steps", adaptive.DEFAULT_MAX_STEPS))
    if steps == "auto" and rule is not None:
        _nested(rule)
    elif rule is not None and rule not in RULES:
        raise InputError(f"rule: expected one of {RULES}, got {rule!r}")


def _single_device(strategy, method):
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        raise InputError(f"steps: 'auto' runs {method} on one device (its batch shrinks as samples converge); "
                         "pass a fixed step count to use a strategy with several replicas")


def _integrated_gradients_auto(score_fn, x, weights, baselines, rule, tolerance, max_steps, batch_size, strategy):
    from ..targets import explained_scores

    _single_device(strategy, "integrated_gradients")
    x = np.asarray(x, np.float32)
    baselines = np.asarray(baselines, np.float32)
    weights = np.asarray(weights, np.float32)
    input_scores = explained_scores(score_fn, x, weights)
    baseline_scores = explained_scores(score_fn, baselines, weights)
    delta = input_scores.astype(np.float64) - baseline_scores
    points = path_points_per_call(score_fn, x.shape[1:], weights.shape[1], batch_size)
    diff = (x.astype(np.float64) - baselines).reshape(len(x), -1)
    evaluate = adaptive.ig_evaluator(score_fn, x, baselines, weights, points)
    res = adaptive.integrate_auto(evaluate, diff, delta, tolerance=tolerance, max_steps=max_steps, rule=rule)
    adaptive.warn_unconverged("integrated_gradients", res.converged, res.residual, tolerance, max_steps,
                              change=res.change)
    attributions = (diff * res.integral).reshape(x.shape).astype(np.float32)
    return MethodResult(attributions, {"steps": res.steps, "rule": rule, "converged": res.converged,
                                       "refinement_change": res.change.astype(np.float32),
                                       "path_points": int(res.evaluations)})


ONE_VS_ONE = ("delta", "reference")


def expected_gradients(score_fn: ScoreFunction, x: Float32, weights: Float32, references: ReferenceSet, *,
                       steps: int | Literal["auto"] = 200, seed: int = 0, alpha: Literal["shared", "per_sample"] = "shared",
                       one_vs_one: Literal["delta", "reference"] = "delta", tolerance: float = adaptive.DEFAULT_TOLERANCE,
                       max_steps: int = adaptive.DEFAULT_MAX_STEPS, batch_size: int | None = None,
                       strategy: Strategy | None = None, progress: Progress = False) -> MethodResult:
    """Expected Gradients with ``steps`` references per sample (one per step) from ``references``.

    EG_i(x) = (1/m) sum_k (x_i - b_k,i) dS(b_k + a_k (x - b_k))/dx_i (ganmex_main.txt §2.1; the
    reference's one-sample-per-step estimator, ganmex.md §3.2).

    Args:
        x: (N, H, W, C) inputs.
        weights: (N, K) output weights w (e_co, or e_co - e_ct for one-vs-one).
        references: a :class:`~tfx_explain.baselines.ReferenceSet` (for one-vs-one, class c_t's images).
        steps: references (and path points) per sample, 200 as in A.3; or ``"auto"``: references are drawn in
            blocks of 32 until ||SE(A)||_2 <= tolerance * ||A||_2 per sample (SE: the standard error of the mean
            over the draws, per pixel, merged exactly across blocks), up to ``max_steps`` draws. The draws are
            those of the fixed estimator in the same order, so a sample that used n draws has the map of
            ``steps=n`` (:mod:`~tfx_explain.attribution.adaptive`). Extras: ``steps`` ((N,) draws used),
            ``converged``, ``relative_se`` ((N,) ||SE||_2 / ||A||_2 reached); ``reference_index`` is (N, most
            draws used), -1 past each sample's draws. Misses are named in one ExactnessWarning.
        tolerance: relative tolerance of ``steps="auto"``, in (0, 1).
        max_steps: the cap of ``steps="auto"`` on reference draws per sample.
        alpha: ``"shared"`` (reference harness: one a_k per step for the whole batch) or ``"per_sample"``.
        one_vs_one: which scalar S a one-vs-one call explains. ``"delta"`` (default): the score delta
            S_co - S_ct. ``"reference"``: S_co alone with the references still drawn from class c_t, as the
            reference harness computed the paper's EG column (ganmex.md §3.3-3.4); w is replaced by its
            positive part e_co. One-vs-all calls (w = e_co) are the same in both modes.
        seed: seeds the references and the a_k; per-sample draws depend only on (seed, sample index).
        batch_size: model evaluations per traced call, as for :func:`integrated_gradients`.
    Returns the (N, H, W, C) attributions, in units of S, and, as extras, the mean reference of each sample
    (shown as its baseline), the mean S over its references and the explained weights.
    Raises:
        InputError: an unknown ``alpha`` or ``one_vs_one``; bad ``steps``, ``tolerance`` or ``max_steps``;
            ``steps="auto"`` under a strategy with several replicas.
    """
    import tensorflow as tf

    check_options({"steps": steps, "tolerance": tolerance, "max_steps": max_steps})
    if alpha not in ("shared", "per_sample"):
        raise InputError(f"alpha: expected 'shared' or 'per_sample', got {alpha!r}")
    if one_vs_one not in ONE_VS_ONE:
        raise InputError(f"one_vs_one: expected one of {ONE_VS_ONE}, got {one_vs_one!r}")
    if one_vs_one == "reference" and getattr(score_fn, "_log_probability_delta", False):
        raise InputError("one_vs_one: 'reference' explains S_co alone, but this model's logits cannot be reached "
                         "(only log-probabilities, exact for deltas); use score='probability' or a logits model")
    if one_vs_one == "reference":  # e_co - e_ct -> e_co: the harness explains S_co (ganmex.md §3.3 step 4)
        weights = np.maximum(np.asarray(weights, np.float32), 0.0)
    from .. import rng

    if steps == "auto":
        return _expected_gradients_auto(score_fn, x, weights, references, seed, alpha, one_vs_one, tolerance,
                                        max_steps, batch_size, strategy)
    m = int(steps)
    n = len(x)
    points = path_points_per_call(score_fn, x.shape[1:], weights.shape[1], batch_size)
    chunk_size = max(1, min(batch_size or DEFAULT_BATCH // 4, points))
    block = steps_per_block(min(chunk_size, n), m, points)
    if alpha == "shared":
        alphas = np.broadcast_to(rng.generator(seed, "eg_alpha").random(m)[None], (n, m)).astype(np.float32)
    else:
        alphas = rng.uniform(seed, "eg_alpha", np.arange(n), (m,)).astype(np.float32)
    ids = np.arange(n)
    ref_index = references.draw_indices(ids, m, seed)  # (n, m) indices into the pool
    pool = tf.constant(references.pool)

    def chunk(xc, idx, al, w):
        c = tf.shape(xc)[0]
        shape = tf.shape(xc)[1:]
        w_rep = tf.tile(w, [block, 1])
        n_blocks = -(-m // block)
        pad = n_blocks * block - m
        idx_b = tf.reshape(tf.pad(tf.transpose(idx), [[0, pad], [0, 0]]), (n_blocks, block, -1))
        al_b = tf.reshape(tf.pad(tf.transpose(al), [[0, pad], [0, 0]]), (n_blocks, block, -1))
        valid = tf.reshape(tf.pad(tf.ones(m), [[0, pad]]), (n_blocks, block))

        def body(i, acc, base):
            refs = tf.gather(pool, idx_b[i])  # (block, c, H, W, C)
            a = tf.reshape(al_b[i], (block, c, 1, 1, 1))
            diff = xc[None] - refs
            points = tf.reshape(refs + a * diff, tf.concat([[block * c], shape], 0))
            with tf.GradientTape() as tape:
                tape.watch(points)
                out = score_fn.explained(points, w_rep)
            g = tf.reshape(tape.gradient(out, points), tf.concat([[block, c], shape], 0))
            ref_scores = tf.reshape(score_fn.explained(tf.reshape(refs, tf.shape(points)), w_rep), (block, c))
            update = tf.ensure_shape(tf.tensordot(valid[i], g * diff, axes=1), xc.shape)
            return i + 1, acc + update, base + tf.tensordot(valid[i], ref_scores, 1)

        _, total, base = tf.while_loop(lambda i, *_: i < n_blocks, body,
                                       (0, tf.zeros_like(xc), tf.zeros([c], xc.dtype)))
        mean_ref = tf.reduce_mean(tf.gather(pool, idx), axis=1)
        return total / m, mean_ref, base / m

    attributions, mean_refs, base_scores = map_batches(chunk, [x, ref_index, alphas, weights], chunk_size,
                                                       strategy=strategy, progress=progress,
                                                       desc="expected_gradients", jit_compile=score_fn.jit_compile)
    return MethodResult(attributions, {"baselines": mean_refs, "baseline_scores": base_scores, "steps": m,
                                       "alpha": alpha, "one_vs_one": one_vs_one, "seed": seed,
                                       "reference_index": ref_index, "explained_weights": np.asarray(weights)})


def _eg_draws(references, n, m, seed, alpha):
    """(reference indices (n, m), a (n, m)): the fixed estimator's draws, whose first j columns are its draws at
    ``steps=j`` (a prefix of one permutation per sample; one Philox stream of a)."""
    from .. import rng

    if alpha == "shared":
        alphas = np.broadcast_to(rng.generator(seed, "eg_alpha").random(m)[None], (n, m)).astype(np.float32)
    else:
        alphas = rng.uniform(seed, "eg_alpha", np.arange(n), (m,)).astype(np.float32)
    return references.draw_indices(np.arange(n), m, seed), alphas


def _expected_gradients_auto(score_fn, x, weights, references, seed, alpha, one_vs_one, tolerance, max_steps,
                             batch_size, strategy):
    _single_device(strategy, "expected_gradients")
    x = np.asarray(x, np.float32)
    weights = np.asarray(weights, np.float32)
    n = len(x)
    ref_index, alphas = _eg_draws(references, n, int(max_steps), seed, alpha)
    pool = np.asarray(references.pool, np.float32)
    points = path_points_per_call(score_fn, x.shape[1:], weights.shape[1], batch_size)
    evaluate = adaptive.eg_evaluator(score_fn, x, pool, ref_index, alphas, weights, points)
    state, rel, converged, evaluations = adaptive.expect_auto(evaluate, n, int(np.prod(x.shape[1:])),
                                                              tolerance=tolerance, max_steps=max_steps,
                                                              block=min(adaptive.EG_BLOCK, points))
    adaptive.warn_unconverged("expected_gradients", converged, rel, tolerance, max_steps, what="references",
                              measure="relative standard error ||SE(A)||_2 / ||A||_2")
    used = state.count
    index = np.where(np.arange(used.max()) < used[:, None], ref_index[:, : used.max()], -1)
    mean_refs = np.stack([pool[ref_index[i, : used[i]]].mean(axis=0) for i in range(n)]) if n else pool[:0]
    return MethodResult(state.mean.reshape(x.shape).astype(np.float32),
                        {"baselines": mean_refs, "baseline_scores": (evaluate.ref_score_sum / used).astype(np.float32),
                         "steps": used, "converged": converged, "relative_se": rel.astype(np.float32),
                         "alpha": alpha, "one_vs_one": one_vs_one, "seed": seed, "path_points": int(evaluations),
                         "reference_index": index, "explained_weights": weights})


# explain_keras runs these before any work (api._check_method reads the attribute)
setattr(integrated_gradients, "check_options", check_options)
setattr(expected_gradients, "check_options", check_options)
