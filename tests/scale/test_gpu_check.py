"""scripts/gpu_check.sh --smoke: the prepared GPU check (issue 18 §3) runs end to end on the CPU and its JSON
holds every section, with the precision tolerances of tfx_explain.precision met, so the script does not rot."""
import json
import subprocess

import numpy as np

from tfx_explain.precision import ATTRIBUTION_TOLERANCES

from .conftest import ROOT, child_env


def test_gpu_check_smoke_runs_and_reports(tmp_path):
    out = tmp_path / "gpu_check.json"
    run = subprocess.run([str(ROOT / "scripts" / "gpu_check.sh"), "--smoke", "--out", str(out)], cwd=tmp_path,
                         env=child_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    sections = report["sections"]
    assert report["ok"] and report["mode"] == "smoke"
    assert set(sections) == {"device", "ig", "precision_speed", "mirrored", "ganmex", "tolerances"}
    assert not [name for name, s in sections.items() if "error" in s or "skipped" in s]
    assert sections["device"]["device"] == "CPU (no GPU visible)" and sections["device"]["gpus"] == []

    ig = sections["ig"]
    assert ig["images"] == report["sizes"]["ig_images"] and ig["images_per_second"] > 0
    assert set(ig["by_batch_size"]) == {str(b) for b in report["sizes"]["ig_batch_sizes"]}
    # the chunking changes how path points are grouped, never the sum (float32 reassociation only)
    assert all(r["max_abs_difference_to_default"] < 1e-5 for r in ig["by_batch_size"].values())
    other = ig["other_conv_gradient_route"]  # TensorFlow's conv input gradient, where the CPU default is overlap-add
    assert other["overlap_add_conv_input_gradient"] is False and other["max_abs_difference_to_default"] < 1e-5
    assert set(sections["precision_speed"]["runs"]) == {"float32_tf32", "float32_no_tf32", "mixed_float16",
                                                        "mixed_bfloat16", "xla"}
    assert all(r["images_per_second"] > 0 for r in sections["precision_speed"]["runs"].values())

    mirrored = sections["mirrored"]
    assert mirrored["replicas"] == 2 and mirrored["ig"]["matches_single_device"]
    assert mirrored["ig"]["relative_l2_to_single_device"] <= 1e-5
    ganmex = sections["ganmex"]
    assert ganmex["preset"] == "reference" and ganmex["steps_per_second"] > 0 and ganmex["baselines"]["finite"]

    tolerances = sections["tolerances"]
    assert tolerances["all_passed"] and tolerances["op_determinism"] and not tolerances["tf32"]
    expected = {(m, s) for m, _, by in ATTRIBUTION_TOLERANCES for s in by}
    assert {(c["method"], c["switch"]) for c in tolerances["checks"]} == expected
    for c in tolerances["checks"]:
        assert c["relative_l2"] <= c["tolerance"] and c["score_max_abs"] <= c["score_tolerance"], c
        if c["switch"] != "xla":  # it really computed in 16 bits
            assert c["relative_l2"] > 0, c
    assert np.isfinite(report["seconds"])
