"""The README's main job, at toy size: it writes its figures and summary, then reuses its cache."""
import json

from tfx_explain import demo


def test_demo_writes_figures_and_reuses_its_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "METHODS", (("deeplift", "DeepLIFT"),))  # keep the test short
    summary = demo.run(tmp_path, steps=2, classifier_epochs=1, verbose=0)
    for name in ("fig9_one_vs_one.png", "fig2_examples.png", "classifier.keras", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert 0.0 <= summary["target_class_success"] <= 1.0 and summary["ganmex_steps"] == 2
    mtime = (tmp_path / "ganmex" / "generator" / "generator.keras").stat().st_mtime
    again = demo.run(tmp_path, steps=2, classifier_epochs=1, verbose=0)
    assert (tmp_path / "ganmex" / "generator" / "generator.keras").stat().st_mtime == mtime  # reused
    assert again["classifier_test_accuracy"] == summary["classifier_test_accuracy"]
