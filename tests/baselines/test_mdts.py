"""MDTS and random_target: exact under near-ties (float64 brute force is the oracle), a streamed tf.data.Dataset
gives exactly the in-memory answer, draws depend on (seed, position), cached answers are never stale."""
import numpy as np
import pytest
import tensorflow as tf

from tfx_explain import rng
from tfx_explain.baselines import dataset, search
from tfx_explain.baselines.source import TrainingData
from tfx_explain.errors import InputError


def brute_force(x, train, labels, classes, one_vs_one):
    """float64 argmin of the squared L2 distance over eligible images; np.argmin takes the lowest index on ties."""
    q = x.reshape(len(x), -1).astype(np.float64)
    t = train.reshape(len(train), -1).astype(np.float64)
    out = []
    for qi, c in zip(q, classes):
        d = ((t - qi) ** 2).sum(axis=1)
        d[(labels != c) if one_vs_one else (labels == c)] = np.inf
        out.append(int(np.argmin(d)))
    return np.array(out)


def near_duplicates(seed, n_dup=40, d=784):
    """n_dup copies of one image, each moved by one float32 ulp in one pixel (distinct float64 distances that
    float32 rounding cannot order), among 200 random images; one query near them. The float32 shortlist of 8 that
    this replaces returned the wrong image on 16 of 20 seeds."""
    r = np.random.default_rng(seed)
    base = r.random(d).astype(np.float32)
    q = np.clip(base + r.normal(0, 0.05, d), 0, 1).astype(np.float32)
    dups = np.repeat(base[None], n_dup, 0)
    for k in range(n_dup):
        j = r.integers(d)
        dups[k, j] = np.nextafter(dups[k, j], np.float32(2.0 if r.random() < 0.5 else -1.0))
    train = np.concatenate([r.random((100, d)), dups, r.random((100, d))]).astype(np.float32)
    perm = r.permutation(len(train))
    return q.reshape(1, 28, 28, 1), train[perm].reshape(-1, 28, 28, 1), np.zeros(len(train), np.int64)


def as_stream(images, labels, batch=None):
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    return ds.batch(batch) if batch else ds


@pytest.fixture(autouse=True)
def fresh_cache():
    dataset.CACHE.clear()
    yield
    dataset.CACHE.clear()


@pytest.mark.parametrize("seed", range(6))
def test_forty_near_duplicates_give_the_float64_nearest(seed):
    x, train, labels = near_duplicates(seed)
    stats = {}
    _, idx = dataset.mdts(x, np.array([1]), np.array([0]), train, labels, stats=stats)
    assert idx.tolist() == brute_force(x, train, labels, [0], True).tolist()
    assert stats["shortlist_max"] >= 40  # every near-duplicate was re-ranked in float64


def test_exact_ties_go_to_the_lowest_index():
    r = np.random.default_rng(1)
    train = r.random((30, 4, 4, 1)).astype(np.float32)
    train[[5, 11, 17, 23]] = train[3]  # four copies of image 3 among five identical candidates
    labels = np.zeros(30, np.int64)
    labels[[3, 5]] = 1  # image 3 and 5 are of the excluded class (one-vs-all from class 1)
    x = train[[3, 3]] + np.float32(1e-3)
    _, idx = dataset.mdts(x, np.array([1, 1]), None, train, labels)
    assert idx.tolist() == [11, 11]
    _, idx = dataset.mdts(x, np.array([0, 0]), np.array([1, 0]), train, labels)
    assert idx.tolist() == [3, 11]


def tied_data(seed, n=300, d=(6, 6, 1), classes=4):
    """Random images with exact duplicates and one-ulp near-duplicates, and queries on and near them."""
    r = np.random.default_rng(seed)
    train = r.random((n,) + d).astype(np.float32)
    train[r.integers(n, size=60)] = train[r.integers(n, size=60)]  # exact duplicates
    near = r.integers(n, size=60)
    train[near] = np.nextafter(train[r.integers(n, size=60)], np.float32(2.0))  # one-ulp neighbours
    labels = r.integers(classes, size=n)
    x = np.concatenate([train[r.integers(n, size=10)], r.random((10,) + d).astype(np.float32)])
    x[:5] += np.float32(1e-7)
    return x, train, labels, r.integers(classes, size=len(x)), r.integers(classes, size=len(x))


@pytest.mark.parametrize("seed", range(3))
def test_streamed_equals_in_memory_equals_brute_force(seed):
    x, train, labels, co, ct = tied_data(seed)
    for target, one_vs_one in ((ct, True), (None, False)):
        truth = brute_force(x, train, labels, ct if one_vs_one else co, one_vs_one)
        values, idx = dataset.mdts(x, co, target, train, labels)
        assert idx.tolist() == truth.tolist()
        np.testing.assert_array_equal(values, train[truth])
        for chunk, batch in ((37, None), (64, 25)):  # chunk boundaries anywhere, batched or not
            dataset.CACHE.clear()
            streamed = TrainingData(dataset=as_stream(train, labels, batch), chunk_size=chunk)
            s_values, s_idx = dataset.mdts(x, co, target, streamed, batch_size=7)
            assert s_idx.tolist() == truth.tolist()
            np.testing.assert_array_equal(s_values, values)


def test_one_pass_serves_all_queries_and_the_cache_is_checked_against_the_data():
    x, train, labels, co, ct = tied_data(7)
    streamed = TrainingData(dataset=as_stream(train, labels), chunk_size=50)
    stats = {}
    _, first = dataset.mdts(x, co, ct, streamed, stats=stats)
    assert stats["passes"] == 1 and stats["cache_hits"] == 0
    _, again = dataset.mdts(x, co, ct, streamed, stats=stats)
    assert stats["passes"] == 1 and stats["cache_hits"] == len(x)  # a read-and-hash pass, no search
    assert again.tolist() == first.tolist()

    state = {"images": train.copy()}  # a generator whose content changes between calls

    def gen():
        yield from zip(state["images"], labels)

    spec = (tf.TensorSpec(train.shape[1:], tf.float32), tf.TensorSpec((), tf.int64))
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec).apply(
        tf.data.experimental.assert_cardinality(len(train)))
    _, idx = dataset.mdts(x, co, ct, TrainingData(dataset=ds))
    assert idx.tolist() == first.tolist()
    state["images"] = train[::-1].copy()
    stats = {}
    _, idx = dataset.mdts(x, co, ct, TrainingData(dataset=ds), stats=stats)
    assert idx.tolist() == brute_force(x, train[::-1], labels, ct, True).tolist()  # recomputed, not stale
    assert stats["passes"] == 2


def test_random_target_is_by_seed_and_position_and_streams_identically():
    x, train, labels, co, ct = tied_data(3)
    for target, one_vs_one in ((ct, True), (None, False)):
        values, idx = dataset.random_target(x, co, target, train, labels, seed=5)
        u = rng.uniform(5, "random_target", np.arange(len(x)))
        for i in range(len(x)):  # the floor(u_i * n)-th eligible image in index order
            pool = np.flatnonzero(labels == ct[i]) if one_vs_one else np.flatnonzero(labels != co[i])
            assert idx[i] == pool[int(u[i] * len(pool))]
        np.testing.assert_array_equal(values, train[idx])
        streamed = TrainingData(dataset=as_stream(train, labels, 32), chunk_size=41)
        s_values, s_idx = dataset.random_target(x, co, target, streamed, seed=5)
        assert s_idx.tolist() == idx.tolist()
        np.testing.assert_array_equal(s_values, values)
        _, head = dataset.random_target(x[:4], co[:4], None if target is None else target[:4], train, labels, seed=5)
        assert head.tolist() == idx[:4].tolist()  # a sample's draw does not depend on the batch


def test_a_reshuffling_stream_is_refused_for_random_target():
    x, train, labels, co, ct = tied_data(4)
    ds = as_stream(train, labels).shuffle(len(train), seed=1, reshuffle_each_iteration=True)
    with pytest.raises(InputError, match=r"^data: the tf.data.Dataset read differently on two passes"):
        dataset.random_target(x, co, ct, TrainingData(dataset=ds), seed=0)


def test_the_error_bound_covers_float32_rounding():
    r = np.random.default_rng(0)
    q = (r.random((50, 784)) * r.choice([1e-3, 1, 255], (50, 1))).astype(np.float32)
    t = (r.random((60, 784)) * r.choice([1e-3, 1, 255], (60, 1))).astype(np.float32)
    q_sq, t_sq = (q * q).sum(1), (t * t).sum(1)
    d32 = q_sq[:, None] - 2 * (q @ t.T) + t_sq[None]
    d64 = ((q.astype(np.float64)[:, None] - t.astype(np.float64)[None]) ** 2).sum(-1)
    e = search.error_bound(q_sq, t_sq, 784)
    assert np.all(np.abs(d32 - d64) <= e)
    assert np.max(e / (np.sqrt(q_sq)[:, None] + np.sqrt(t_sq)[None]) ** 2) < 1e-3  # and stays a small band

    def tf32(a):  # the product inputs as an Ampere GPU rounds them: 10 mantissa bits, to nearest
        bits = a.view(np.uint32)
        return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)

    d_tf32 = q_sq[:, None] - 2 * (tf32(q) @ tf32(t).T) + t_sq[None]
    assert np.abs(d_tf32 - d64).max() > np.abs(d32 - d64).max() * 10  # TF32 is far coarser...
    assert np.all(np.abs(d_tf32 - d64) <= search.error_bound(q_sq, t_sq, 784, tf32=True))  # ...and still bounded
    coherent = np.full((1, 784), 1 + 0.75 * 2.0 ** -10, np.float32)  # every product rounded up alike
    c_sq = (coherent * coherent).sum(1)
    d_coherent = np.abs(2 * c_sq - 2 * (tf32(coherent) @ tf32(coherent).T))  # the true distance is 0
    assert d_coherent > search.error_bound(c_sq, c_sq, 784)  # the float32 bound alone would not hold
    assert d_coherent <= search.error_bound(c_sq, c_sq, 784, tf32=True)


@pytest.mark.parametrize("data, message", [
    (lambda tr, lb: tf.data.Dataset.from_tensor_slices(tr), r"^data: expected elements \(image, label\)"),
    (lambda tr, lb: as_stream(tr, lb).repeat(), r"^data: the tf.data.Dataset is infinite"),
    (lambda tr, lb: as_stream(tr[:, :4, :4], lb), r"^data: training images have shape \(4, 4, 1\), x has \(6, 6, 1\)"),
])
def test_bad_training_data_fails_before_any_work(data, message):
    from tfx_explain import baselines

    x, train, labels, *_ = tied_data(0)
    with pytest.raises(InputError, match=message):
        baselines.check_spec("mdts", x.shape, data(train, labels))


def test_a_class_without_training_images_is_named():
    x, train, labels, co, ct = tied_data(0)
    ct[2] = 9
    with pytest.raises(InputError, match=r"^data: no training image of class 9 for sample 2"):
        dataset.mdts(x, co, ct, TrainingData(dataset=as_stream(train, labels)))
    with pytest.raises(InputError, match=r"^data: no training image of class 9 for sample 2"):
        dataset.random_target(x, co, ct, train, labels)


@pytest.mark.parametrize("method, baseline, one_vs_all, steps", [
    ("integrated_gradients", "mdts", False, 8), ("integrated_gradients", "random_target", False, 8),
    ("expected_gradients", "train", False, 8), ("expected_gradients", "train", True, 8),
    ("expected_gradients", "train", True, "auto")])
def test_explain_keras_takes_a_streamed_dataset(method, baseline, one_vs_all, steps):
    import keras

    import tfx_explain as tx

    x, train, labels, co, ct = tied_data(5)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(4)])
    ct = None if one_vs_all else (co + 1) % 4
    kwargs = dict(method=method, baseline=baseline, original_class=co, target_class=ct, steps=steps)
    if steps == "auto":
        kwargs.update(max_steps=64, tolerance=0.2)  # 15 samples stop at 32 draws, 5 run on to 64
    in_memory = tx.explain_keras(model, x, data=(train, labels), **kwargs)
    streamed = tx.explain_keras(model, x, data=as_stream(train, labels, 16), **kwargs)
    np.testing.assert_array_equal(streamed.baselines, in_memory.baselines)
    np.testing.assert_array_equal(streamed.attributions, in_memory.attributions)
    with pytest.raises(InputError, match=r"^data: expected elements \(image, label\)"):
        tx.explain_keras(model, x, data=tf.data.Dataset.from_tensor_slices(train), **kwargs)


def test_the_train_distribution_streams_the_target_classes_only():
    x, train, labels, co, ct = tied_data(6)
    ct = np.where(co == 0, 1, 0)  # target classes 0 and 1 only
    in_memory = dataset.train_distribution(co, ct, train, labels)
    streamed = dataset.train_distribution(co, ct, TrainingData(dataset=as_stream(train, labels, 9), chunk_size=50))
    for ids, n_refs in ((np.arange(len(x)), 12), (np.array([3, 1]), 500)):
        np.testing.assert_array_equal(streamed.draw(ids, n_refs, seed=2), in_memory.draw(ids, n_refs, seed=2))
    assert set(streamed.pool_labels.tolist()) == {0, 1}  # classes 2 and 3 never held
    np.testing.assert_array_equal(streamed.pool, train[streamed.info["train_index"]])
    everything = dataset.train_distribution(co, None, TrainingData(dataset=as_stream(train, labels)))
    np.testing.assert_array_equal(everything.draw(np.arange(4), 7, 1),
                                  dataset.train_distribution(co, None, train, labels).draw(np.arange(4), 7, 1))


def test_the_streamed_train_distribution_holds_only_the_drawn_images():
    r = np.random.default_rng(3)
    train = r.random((20_000, 4, 4, 1)).astype(np.float32)
    labels = r.integers(0, 5, len(train))
    co = np.array([0, 3, 4])
    in_memory = dataset.train_distribution(co, None, train, labels)
    streamed = dataset.train_distribution(co, None, TrainingData(dataset=as_stream(train, labels, 2048)))
    assert len(streamed.pool) == 0 and streamed.training.passes == 1  # the counting pass holds no image
    index = streamed.draw_indices(np.arange(3), 16, seed=4)
    assert len(streamed.pool) <= 3 * 16 and streamed.training.passes == 2  # one fetching pass for all the draws
    # brute force: the k-th draw of sample i is the k-th smallest of its 20,000 keys, over the whole training set
    keys = np.stack([rng.generator(4, "references", i).random(len(train)) for i in range(3)])
    np.testing.assert_array_equal(streamed.info["train_index"][index], np.argsort(keys, axis=1)[:, :16])
    np.testing.assert_array_equal(streamed.pool[index], in_memory.draw(np.arange(3), 16, seed=4))
    held = len(streamed.pool)
    streamed.draw_indices(np.arange(3), 8, seed=4)  # a prefix of what is held: no pass, no growth
    assert (len(streamed.pool), streamed.training.passes) == (held, 2)
    more = streamed.draw(np.arange(2), 24, seed=4)  # 8 more draws each: one more pass, at most 2 x 8 new images
    assert len(streamed.pool) <= held + 2 * 8 and streamed.training.passes == 3
    np.testing.assert_array_equal(more, in_memory.draw(np.arange(2), 24, seed=4))
    again = dataset.train_distribution(co, None, streamed.training)  # counts of the last pass: no counting pass
    np.testing.assert_array_equal(again.draw(np.arange(3), 16, seed=4), streamed.pool[index])
    assert streamed.training.passes == 4
    one_vs_one = dataset.train_distribution(co, (co + 1) % 5, TrainingData(dataset=as_stream(train, labels, 2048)))
    np.testing.assert_array_equal(one_vs_one.draw(np.arange(3), 16, seed=4),
                                  dataset.train_distribution(co, (co + 1) % 5, train, labels).draw(np.arange(3), 16, 4))
    assert len(one_vs_one.pool) <= 3 * 16 and set(one_vs_one.pool_labels.tolist()) <= {1, 4, 0}


def test_draws_do_not_depend_on_the_key_blocks(monkeypatch):
    from tfx_explain.baselines import base

    x, train, labels, co, _ = tied_data(2)
    refs = dataset.train_distribution(co, None, train, labels)
    whole = refs.draw_indices(np.arange(len(x)), 9, seed=3)
    monkeypatch.setattr(base, "KEYS_PER_BLOCK", 2 * len(train))  # blocks of 2 samples
    np.testing.assert_array_equal(refs.draw_indices(np.arange(len(x)), 9, seed=3), whole)


def test_a_reshuffling_stream_is_refused_for_the_train_distribution():
    x, train, labels, co, ct = tied_data(4)
    ds = as_stream(train, labels).shuffle(len(train), seed=1, reshuffle_each_iteration=True)
    refs = dataset.train_distribution(co, None, TrainingData(dataset=ds))
    with pytest.raises(InputError, match=r"^data: the tf.data.Dataset read differently on two passes"):
        refs.draw(np.arange(2), 4, seed=0)


def test_deepshap_draws_the_same_background_from_a_stream():
    import keras

    import tfx_explain as tx

    x, train, labels, co, _ = tied_data(7)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(4)])
    kwargs = dict(method="deepshap", engine="native", baseline="train", original_class=co[:3], background_size=20)
    in_memory = tx.explain_keras(model, x[:3], data=(train, labels), **kwargs)
    streamed = tx.explain_keras(model, x[:3], data=as_stream(train, labels, 64), **kwargs)
    np.testing.assert_array_equal(streamed.attributions, in_memory.attributions)
    np.testing.assert_array_equal(streamed.baselines, in_memory.baselines)


def test_the_shap_engine_background_from_a_stream_is_numpy_choice_over_the_class():
    import importlib

    deepshap = importlib.import_module("tfx_explain.attribution.deepshap")  # the module, not its function
    x, train, labels, co, _ = tied_data(7)
    ct = (co[:3] + 1) % 4
    weights = np.eye(4, dtype=np.float32)[co[:3]] - np.eye(4, dtype=np.float32)[ct]
    refs = dataset.train_distribution(co[:3], ct, TrainingData(dataset=as_stream(train, labels, 64)))
    groups = list(deepshap._groups(x[:3], weights, refs, 20, 5))
    assert refs.training.passes == 2 and len(refs.pool) <= 3 * 20  # one fetching pass for every background
    for rows, _, background in groups:  # the background before ranks: choice over the class's training indices
        cls = int(ct[rows[0]])
        pick = np.random.default_rng([5, cls]).choice(np.flatnonzero(labels == cls), size=20, replace=False)
        np.testing.assert_array_equal(background, train[np.sort(pick)])


@pytest.mark.parametrize("method, baseline, target", [("integrated_gradients", "mdts", 1),
                                                      ("expected_gradients", "train", None)])
def test_explain_dataset_streams_the_training_data(tmp_path, method, baseline, target):
    import keras

    from tfx_explain import scale

    x, train, labels, co, _ = tied_data(8)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(4)])
    runs = {}
    for name, data in (("arrays", (train, labels)), ("stream", as_stream(train, labels, 32))):
        scale.explain_dataset(model, (x, co), tmp_path / name, method=method, steps=4, shard_size=8,
                              baseline=baseline, target_class=target, data=data, progress=False)
        runs[name] = scale.load_run(tmp_path / name)
    for key in ("baselines", "attributions"):
        np.testing.assert_array_equal(runs["stream"][key], runs["arrays"][key])
    assert np.abs(runs["stream"]["baselines"]).sum() > 0
