import json

from tfx_explain.cli import main
from tfx_explain.models import save_model


def test_evaluate_writes_the_grid_and_a_run_record(digits_model, tmp_path, capsys):
    path = save_model(digits_model, tmp_path / "model.keras")
    out = tmp_path / "eval"
    code = main(["evaluate", "--model", str(path), "--dataset", "digits", "--n", "3", "--methods",
                 "integrated_gradients,expected_gradients", "--baselines", "zero,train", "--metrics",
                 "aopc_100,sparsity,edge_center_localization", "--steps", "8", "--out", str(out)])
    assert code == 0
    rows = json.loads((out / "grid.json").read_text())["rows"]
    assert {(r["method"], r["baseline"]) for r in rows} == {("integrated_gradients", "zero"),
                                                           ("expected_gradients", "train")}
    assert all(r["n"] == 3 for r in rows if r["metric"] == "sparsity")
    assert (out / "grid.md").exists() and (out / "grid.csv").exists()
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "evaluate" and record["arguments"]["n"] == 3
    assert "| sparsity ↑ |" in capsys.readouterr().out


def test_evaluate_reports_bad_arguments(digits_model, tmp_path, capsys):
    path = save_model(digits_model, tmp_path / "model.keras")
    code = main(["evaluate", "--model", str(path), "--metrics", "accuracy", "--n", "2"])
    assert code == 2 and "metrics" in capsys.readouterr().err
