"""One worker of the multi-worker tests, started with its TF_CONFIG: ``python tests/scale/_worker.py MODE OUT``.

MODE ``identity``: a few GANMEX steps under MultiWorkerMirroredStrategy (weights saved), explain_keras under the
same strategy (attributions saved), then this worker's shards of a dataset run. MODE ``train``: GANMEX for
many steps with a checkpoint every step (the test kills one worker while it trains).
"""
import json
import sys
from pathlib import Path

import numpy as np

mode, out = sys.argv[1], Path(sys.argv[2])
import tfx_explain as tx  # noqa: E402
from tfx_explain import distribute, ganmex, scale  # noqa: E402
from tfx_explain.models import load_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.scale.conftest import TINY_GANMEX  # noqa: E402

strategy = distribute.multi_worker_strategy(startup_timeout=120, heartbeat_timeout=float(sys.argv[3]))
me = distribute.worker_info(strategy)
classifier = load_model(out / "clf.keras")
x, y = tx.data.load("digits", "train", image_size=8)
if mode == "train":
    print("training", flush=True)
    ganmex.train(classifier, (x[:200], y[:200]), steps=100_000, strategy=strategy, out_dir=out / "gan", verbose=0,
                 **dict(TINY_GANMEX, checkpoint_every=1))
    sys.exit(0)
gen = ganmex.train(classifier, (x[:200], y[:200]), steps=3, strategy=strategy, out_dir=out / "gan", verbose=0,
                   **TINY_GANMEX)
np.savez(out / f"weights-{me.index}.npz", *(gen.generator.get_weights() + gen.gan.discriminator.get_weights()))
xt, yt = tx.data.load("digits", "test", image_size=8)
e = tx.explain_keras(classifier, xt[:6], method="integrated_gradients", steps=8, target_class=3,
                     original_class=[0, 1, 2, 4, 5, 6], strategy=strategy, progress=False)
np.save(out / f"attributions-{me.index}.npy", e.attributions)
summary = scale.explain_dataset(classifier, (xt[:40], yt[:40]), out / "run", method="integrated_gradients", steps=8,
                                target_class="all", shard_size=16, progress=False, worker_timeout=60)
(out / f"summary-{me.index}.json").write_text(json.dumps(summary.to_dict()))
