"""engine.jobs: the one split policy, the trained model, the run record (issue 14)."""
import numpy as np
import pytest

from engine.data import DataSpec, load_dataset
from engine.io import Project, demo_project
from engine.jobs import JobError, choose_split, evaluate, finish_run, run_name, trained_model
from engine.jobs.runs import new_run
from engine.model import compile_graph
from engine.spec import sequential

IRIS = sequential([("Input.v1", {"shape": [4]}), ("Dense.v1", {"units": 8, "activation": "relu"}),
                   ("Dense.v1", {"units": 3, "activation": "softmax"})])


class Splits:
    def __init__(self, **n):
        self._n = {"train": 0, "val": 0, "test": 0, **n}

    def n(self, s):
        return self._n[s]


@pytest.mark.parametrize("n, split", [(dict(train=10, val=3, test=2), "test"), (dict(train=10, val=3), "val"),
                                      (dict(train=10), "train")])
def test_auto_takes_test_then_validation_then_training(n, split):
    got, where = choose_split(Splits(**n), "auto")
    assert got == split and str(n[split]) in where
    if split == "train":
        assert "only shows how well the model fits its training data" in where


def test_a_named_empty_split_is_refused():
    with pytest.raises(JobError, match="the test split is empty"):
        choose_split(Splits(train=5), "test")
    with pytest.raises(JobError, match="unknown split"):
        choose_split(Splits(train=5), "everything")


def test_trained_model_needs_weights_that_fit():
    with pytest.raises(JobError, match="no trained weights"):
        trained_model(IRIS, None)
    other = compile_graph(demo_project().graph).state_dict()
    with pytest.raises(JobError, match="do not fit the graph"):
        trained_model(IRIS, other)
    w = compile_graph(IRIS, seed=3).state_dict()
    m = trained_model(IRIS, w)
    np.testing.assert_array_equal(m.state_dict()["n2/W"], w["n2/W"])


def test_evaluate_out_of_the_box_and_on_every_row():
    w = compile_graph(IRIS, seed=1).state_dict()
    spec = DataSpec(kind="sample", path="iris", val_split=0.2, test_split=0.0)
    res = evaluate(IRIS, w, spec)                      # no test split: the validation split, said so
    assert res["split"] == "val" and res["n"] == 30 and "no test split" in res["where"]
    every = evaluate(IRIS, w, spec.to_dict(), split="all")
    assert every["split"] == "all" and every["n"] == 150
    assert 0.0 <= every["metrics"]["accuracy"] <= 1.0


def test_evaluate_refuses_data_of_another_shape():
    w = compile_graph(demo_project().graph).state_dict()
    with pytest.raises(JobError, match=r"the Input layer expects samples of shape \(2,\) but the data has \(4,\); set the Input shape to 4"):
        evaluate(demo_project().graph, w, DataSpec(kind="sample", path="iris"))


def test_run_records_are_named_and_kept_the_same_way():
    ds = load_dataset(DataSpec(kind="sample", path="iris"))
    p = Project(graph=IRIS, metadata={"name": "x", "interrupted": True})
    run = new_run(p.history, {"epochs": 2}, {"kind": "sample", "path": "iris"})
    assert run["name"] == "Run 1" == run_name([])
    after = finish_run(p, run, reason="completed", dataset=ds, weights={"a": np.zeros(1)}, loss="sparse_cce")
    assert after.history[-1]["reason"] == "completed" and p.history == []
    assert after.metadata["loss"] == "sparse_cce" and after.metadata["task"] == "classification"
    assert after.metadata["class_names"] == ds.class_names and "interrupted" not in after.metadata
    assert after.train_config == {"epochs": 2} and after.data_spec == {"kind": "sample", "path": "iris"}
    assert run_name(after.history) == "Run 2"
