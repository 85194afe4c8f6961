"""The one seeded-randomness scheme (tfx_explain.rng): draws are functions of (seed, stream, key) only, uniform,
and a run directory written under another scheme is refused."""
import json

import numpy as np
import pytest
from scipy.stats import kstest

from tfx_explain import rng
from tfx_explain.baselines.base import ReferenceSet
from tfx_explain.errors import MismatchError


def test_a_row_depends_only_on_its_key():
    both = rng.uniform(3, "references", [4, 9], (5,))
    np.testing.assert_array_equal(both[1], rng.uniform(3, "references", [9], (5,))[0])  # batch composition
    assert not np.allclose(both[0], both[1])
    assert not np.allclose(both, rng.uniform(3, "mp_init", [4, 9], (5,)))  # streams never share numbers
    assert not np.allclose(both, rng.uniform(4, "references", [4, 9], (5,)))


def test_draws_are_uniform():
    u = rng.uniform(0, "uniform_baseline", np.arange(50), (200,)).ravel()
    assert kstest(u, "uniform").pvalue > 1e-3  # a fixed draw: this cannot flake
    assert 0.0 <= u.min() and u.max() < 1.0


def test_references_are_without_replacement_and_chunk_invariant():
    pool = np.arange(20, dtype=np.float32)[:, None]
    refs = ReferenceSet(pool, np.arange(20) % 2, classes=np.array([0, 1, 1, 0]))
    whole = refs.draw_indices(np.arange(4), 10, seed=5)
    for i, row in enumerate(whole):
        assert sorted(row) == list(range(i in (1, 2), 20, 2))  # all ten candidates of its class, once each
    np.testing.assert_array_equal(refs.draw_indices(np.array([2, 3]), 10, seed=5), whole[2:])


def test_in_graph_draws_depend_on_seed_stream_and_step_only():
    import tensorflow as tf

    from tfx_explain.generative.training import stateless_uniform

    step = tf.constant(7, tf.int64)
    a = stateless_uniform((4,), 1, step, 0).numpy()
    np.testing.assert_array_equal(a, stateless_uniform((4,), 1, tf.constant(7, tf.int64), 0).numpy())
    for other in (stateless_uniform((4,), 1, step, 1), stateless_uniform((4,), 2, step, 0),
                  stateless_uniform((4,), 1, step + 1, 0)):
        assert not np.allclose(a, other.numpy())


def test_a_dataset_run_from_another_rng_version_is_refused(tmp_path):
    from tfx_explain.scale import store

    config = {"kind": "tfx_explain.explain_dataset", "seed": 0, "rng_version": rng.RNG_VERSION}
    store.check_config(tmp_path, config)
    store.check_config(tmp_path, config)  # the same version resumes
    old = dict(config)
    del old["rng_version"]  # runs before rng_version 2 recorded none
    (tmp_path / store.CONFIG).write_text(json.dumps(old))
    with pytest.raises(MismatchError, match=r"^out_dir: .* rng_version 1, this version draws with rng_version 2"):
        store.check_config(tmp_path, config)
