"""Metrics that judge attributions as the papers define them (ganmex_main.txt §4; ganmex_appendix.txt B, C).

Each metric takes the model, the inputs, the attributions and the classes (and what else it needs), works in
batches, and returns a :class:`MetricResult` of per-sample values with ``summary()``; ``gini`` returns (N,).

=================================  ====================================================================
perturbation curve, AOPC           :func:`perturbation_curve`, :func:`aopc` (L = 100), :func:`aopc_all` (C.1)
deletion / insertion               :func:`deletion`, :func:`insertion` (Petsiuk et al.), pluggable ``fill``
fills (every removal metric)       :mod:`tfx_explain.perturbation.fillers` (re-exported as ``fillers``,
                                   ``get_filler``): one protocol and registry with SP / LIME / MP
sparsity                           :func:`gini`, :func:`sparsity` (Chalasani et al.; C.3)
faithfulness / monotonicity        :func:`faithfulness`, :func:`monotonicity` (C.4)
inverse localization               :func:`inverse_localization` (§4.1, Table 1), :func:`edge_center_localization` (C.5)
ROAR (one-vs-one)                  :func:`roar` (C.2)
cascading randomization            :func:`cascading_randomization` (§4.1, Fig. 3)
baseline distances                 :func:`class_distances`, :func:`baseline_distance`, :func:`distance_table` (B)
grid                               :func:`evaluate_grid` -> markdown / CSV / JSON
GANMEX baselines                   :mod:`.baseline_quality`: target success, colour preservation (§5, Fig. 5B)
robustness                         :mod:`.robustness`: SSIM, HOG Pearson, Spearman across settings (generative
                                   removal, Fig. 3)
box localization                   :mod:`.localization_boxes`: IoU >= 0.5 error of thresholded heatmaps (Table 2)
counterfactuals                    :mod:`.counterfactual`: AOSPC, substitutability, compatibility, FID, ...
paired comparison                  :func:`paired_difference` (:mod:`.paired`): bootstrap interval of a - b over
                                   the same images, McNemar for 0/1 outcomes: rank two methods only if it
                                   excludes 0
=================================  ====================================================================
"""
from ..perturbation import fillers
from ..perturbation.fillers import get_filler
from . import baseline_quality, counterfactual, localization_boxes, robustness
from ._common import MetricResult, summarize
from .distance import baseline_distance, class_distances, distance_table
from .faithfulness import faithfulness, monotonicity, single_feature_deltas
from .grid import METRICS, GridResult, evaluate_grid, expand_targets, summary_table
from .paired import paired_difference
from .localization import edge_center_localization, edge_center_masks, inverse_localization
from .perturbation import aopc, aopc_all, deletion, insertion, perturbation_curve, score_curve
from .roar import default_pairs, pair_partners, remove_features, roar
from .sanity import SanityResult, cascading_randomization, plot_cascades, randomize_layer
from .sparsity import PAPER_EPS, gini, sparsity

__all__ = ["baseline_quality", "counterfactual", "localization_boxes", "robustness", "MetricResult", "summarize", "perturbation_curve", "aopc", "aopc_all", "deletion", "insertion",
           "score_curve", "fillers", "get_filler", "gini", "PAPER_EPS",
           "sparsity", "faithfulness", "monotonicity", "single_feature_deltas", "inverse_localization",
           "edge_center_localization", "edge_center_masks", "roar", "pair_partners", "default_pairs",
           "remove_features", "cascading_randomization", "SanityResult", "plot_cascades", "randomize_layer",
           "class_distances", "baseline_distance", "distance_table", "evaluate_grid", "GridResult",
           "expand_targets", "summary_table", "METRICS", "paired_difference"]
