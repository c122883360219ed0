"""The model stage's contract: what the original must write and what a rewrite must return."""

from __future__ import annotations

import pytest

from spark_lester.errors import RewriteError
from spark_lester.rewrite.validate import Oracle, Task, validate_many

LOGITS_ONLY = """import os
import numpy as np

X = np.load(os.environ["LESTER_INPUT_X"])
np.save("output/logits.npy", X.sum(axis=1))
"""


def test_a_model_original_must_write_its_parameters(tmp_path, corpus):
    messy = tmp_path / "messy.py"
    messy.write_text(LOGITS_ONLY)
    task = Task(messy, {"X": corpus["numpy_relu_mlp"].task.inputs["X"]}, kind="model")
    with pytest.raises(RewriteError, match="parameters.npz") as info:
        Oracle.build(task)
    assert info.value.stage == "original" and "np.savez" in str(info.value)


NOT_A_MODULE = "def model(n_features):\n    return [n_features]\n"
NO_TENSOR = """import torch


class Net(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(n, 8), torch.nn.ReLU(),
                                          torch.nn.Linear(8, 4), torch.nn.ReLU(),
                                          torch.nn.Linear(4, 1))

    def forward(self, x):
        return {"logits": self.layers(x)}


def model(n_features):
    return Net(n_features)
"""


def test_model_rewrites_that_break_the_contract_name_the_phase(corpus):
    item = corpus["numpy_relu_mlp"]
    with Oracle.build(item.task) as oracle:
        not_module, no_tensor, reference = validate_many(
            [NOT_A_MODULE, NO_TENSOR, item.reference], oracle)
    assert not_module.failure.stage == "rewrite"
    assert "must return a torch.nn.Module" in not_module.failure.message
    assert "while calling model(n_features)" in not_module.failure.message
    assert no_tensor.failure.stage == "rewrite"
    assert "while running the module on X" in no_tensor.failure.message
    assert reference.accepted
    assert reference.comparisons["sample"]["equal"] is True
