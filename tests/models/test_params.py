"""ModelParams: bytes round trip without pickle, validation, digests, predictions."""

from __future__ import annotations

import io

import numpy as np
import pytest

from spark_lester.errors import DimensionMismatchError, ModelError, ModelFormatError
from spark_lester.models.params import ModelParams, n_params


def _mlp(seed: int = 0) -> ModelParams:
    rng = np.random.default_rng(seed)
    return ModelParams(kind="mlp", d=5, lam=0.01, seed=seed, n_train=100, hidden=3,
                       w=rng.normal(size=n_params("mlp", 5, 3)), info={"iterations": 7})


def test_bytes_round_trip_keeps_vector_and_metadata():
    model = _mlp()
    again = ModelParams.from_bytes(model.to_bytes())
    assert again == model
    assert np.array_equal(again.w, model.w) and again.w.dtype == np.float64
    assert again.metadata() == model.metadata()
    assert dict(again.info) == {"iterations": 7}
    assert again.digest() == model.digest()


def test_bytes_are_a_plain_npz_without_pickle():
    data = _mlp().to_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["meta", "w"]
        assert npz["meta"].dtype == np.uint8


def test_digest_depends_on_the_vector_only_through_its_bytes():
    model = _mlp()
    assert model.digest() == model.with_(info={"other": 1}).digest()
    assert model.digest() != model.with_(w=model.w + 1e-12).digest()


@pytest.mark.parametrize("data", [b"", b"not an npz", b"PK\x03\x04garbage"])
def test_from_bytes_rejects_garbage(data):
    with pytest.raises(ModelFormatError):
        ModelParams.from_bytes(data)


def test_from_bytes_rejects_an_archive_without_metadata():
    buf = io.BytesIO()
    np.savez(buf, w=np.zeros(3))
    with pytest.raises(ModelFormatError):
        ModelParams.from_bytes(buf.getvalue())


def test_validation_of_shape_kind_and_finiteness():
    with pytest.raises(ModelError, match="length"):
        ModelParams(kind="logreg", d=3, lam=0.1, seed=0, n_train=1, w=np.zeros(3))
    with pytest.raises(ModelError, match="unknown model kind"):
        ModelParams(kind="svm", d=3, lam=0.1, seed=0, n_train=1, w=np.zeros(4))
    with pytest.raises(ModelError, match="NaN"):
        ModelParams(kind="logreg", d=1, lam=0.1, seed=0, n_train=1, w=np.array([0.0, np.nan]))


def test_vector_is_read_only():
    model = _mlp()
    with pytest.raises(ValueError):
        model.w[0] = 1.0


def test_predictions_check_the_width_of_x():
    model = ModelParams(kind="logreg", d=2, lam=0.0, seed=0, n_train=1,
                        w=np.array([1.0, -1.0, 0.0]))
    assert model.predict(np.array([[2.0, 1.0], [0.0, 3.0]])).tolist() == [1, 0]
    with pytest.raises(DimensionMismatchError) as err:
        model.predict(np.zeros((2, 3)))
    assert (err.value.expected, err.value.got) == (2, 3)


def test_row_losses_are_cross_entropy():
    model = ModelParams(kind="logreg", d=1, lam=0.0, seed=0, n_train=1, w=np.array([0.0, 0.0]))
    losses = model.row_losses(np.zeros((2, 1)), np.array([0, 1]))
    assert np.allclose(losses, np.log(2.0))
