"""Explanations over whole datasets, on one GPU, several GPUs or several machines.

    from tfx_explain import scale
    summary = scale.explain_dataset(model, "fashion_mnist", "runs/ig_all", split="test",
                                    method="integrated_gradients", baseline="runs/ganmex", target_class="all")
    out = scale.load_run("runs/ig_all")     # attributions, baselines, rows (index, c_o, c_t, scores)

The run streams the dataset through tf.data in shards, writes each shard atomically with its SHA-256 in
the manifest (:mod:`.store`), resumes after a kill with byte-identical results, refuses a directory from
another configuration, recomputes corrupt shards, and shares the shards between the workers of
``TF_CONFIG`` (:mod:`.workers`). ``tfx-explain explain`` is its command line.
"""
from .run import RunSummary, explain_dataset, explained_rows, shard_seed
from .store import ROW_DTYPE, load_run, read_manifest, read_shard, verify_run
from .workers import WorkerError

__all__ = ["explain_dataset", "RunSummary", "load_run", "verify_run", "read_shard", "read_manifest", "ROW_DTYPE",
           "WorkerError", "explained_rows", "shard_seed"]
