"""Feature encoding, differentially: the distributed transform equals the driver's
``encoder.transform`` as float32 whatever the partitioning, re-encoding equals encoding the
new values from scratch while untouched columns keep their bytes, and a stored encoder
transforms as the original does."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from examples.running_example.pipeline import encoder as running_example_encoder
from spark_lester.errors import ColumnNotFoundError, EncoderFormatError, PlanError
from spark_lester.features.encode import (
    FEATURES,
    dump_encoder,
    encode,
    encode_pandas,
    fit_encoder,
    load_encoder,
    reencode,
)
from spark_lester.features.matrix_provenance import matrix_provenance
from spark_lester.features.text import HashingTextEmbedder

SCHEMA = ("mail_id long, __prov_mails long, __prov_customers array<long>, title string, "
          "country string, n double, k int, label int")
BIG = 2**62  # ids above 2**53 are not exact as float64: they must never pass through pandas
COUNTRIES = ["UK", "DE", "FR", "UK", "ES", "DE"]
TITLES = ["card blocked", "hello there", None, "loan status", "fees", "app crash"]


def _rows(n: int = 12) -> list[tuple]:
    return [
        (BIG + i, None if i % 5 == 2 else BIG + 7 * i, [BIG + i, None if i % 4 == 1 else i],
         TITLES[i % 6], COUNTRIES[i % 6], float(i) * 0.37 - 1.0, None if i % 3 == 0 else i,
         i % 2)
        for i in range(n)
    ]


INPUTS = ["title", "country", "n", "k"]
KEEP = ["mail_id", "__prov_mails", "__prov_customers", "label"]


def _encoder() -> ColumnTransformer:
    """String and list selectors, a sparse one-hot block, a nested pipeline over two columns
    with NULLs; the whole output is sparse (sparse_threshold=1), encode() must densify."""
    return ColumnTransformer([
        ("title", HashingTextEmbedder(n_features=8), "title"),
        ("country", OneHotEncoder(handle_unknown="ignore"), ["country"]),
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), ["n", "k"]),
    ], sparse_threshold=1.0)


@pytest.fixture(scope="module")
def source(spark):
    return spark.createDataFrame(_rows(), SCHEMA)


@pytest.fixture(scope="module")
def fitted(source):
    return fit_encoder(_encoder(), source, INPUTS)


def _oracle(source, fitted) -> dict[int, np.ndarray]:
    frame = source.select(*INPUTS).toPandas()
    X = fitted.transform(frame)
    assert hasattr(X, "toarray")  # the encoder really outputs a sparse matrix
    X = np.asarray(X.toarray(), dtype=np.float32)
    ids = [r.mail_id for r in source.select("mail_id").collect()]
    return dict(zip(ids, X))


@pytest.mark.parametrize("partitions, batch", [(1, 10_000), (3, 10_000), (4, 2)])
def test_encode_equals_driver_transform_for_any_partitioning(spark, source, fitted,
                                                            partitions, batch):
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, str(batch))
    try:
        out = encode(source.repartition(partitions), fitted, columns=INPUTS, keep=KEEP)
        rows = out.collect()
    finally:
        spark.conf.set(key, before)
    assert out.columns == [*KEEP, FEATURES]
    assert [out.schema[k] for k in KEEP] == [source.schema[k] for k in KEEP]
    assert out.schema[FEATURES].dataType.simpleString() == "array<float>"
    oracle = _oracle(source, fitted)
    assert sorted(r.mail_id for r in rows) == sorted(oracle)
    for row in rows:
        vector = np.asarray(row[FEATURES], dtype=np.float32)
        assert vector.tobytes() == oracle[row.mail_id].tobytes(), row.mail_id
    kept = sorted(tuple(r[k] for k in KEEP) for r in rows)
    assert kept == sorted(tuple(r[k] for k in KEEP) for r in source.collect())


def test_encode_keeps_64_bit_ids_with_nulls_exact(source, fitted):
    rows = encode(source, fitted, columns=INPUTS, keep=KEEP).collect()
    by_id = {r.mail_id: r for r in rows}
    for i, expected in enumerate(_rows()):
        row = by_id[BIG + i]
        assert row["__prov_mails"] == expected[1]
        assert row["__prov_customers"] == expected[2]
    assert any(r["__prov_mails"] is None for r in rows)


def test_encode_skips_empty_partitions(source, fitted):
    empty = source.filter("mail_id < 0")
    assert encode(empty, fitted, columns=INPUTS, keep=["mail_id"]).count() == 0


def test_fit_encoder_fits_a_copy_on_the_driver(source, fitted):
    unfitted = _encoder()
    result = fit_encoder(unfitted, source, INPUTS)
    assert not hasattr(unfitted, "transformers_")  # the declared encoder stays reusable
    frame = source.select(*INPUTS).toPandas()
    expected = _encoder().fit(frame).transform(frame).toarray()
    assert np.array_equal(result.transform(frame).toarray(), expected)
    assert list(result.feature_names_in_) == INPUTS


def test_fit_encoder_refuses_bad_input(source, fitted):
    with pytest.raises(PlanError, match="already fitted") as err:
        fit_encoder(fitted, source, INPUTS)
    assert "clone" in str(err.value)
    with pytest.raises(PlanError, match="ColumnTransformer"):
        fit_encoder(StandardScaler(), source, ["n"])
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'country'"):
        fit_encoder(_encoder(), source, ["title", "contry", "n", "k"])
    with pytest.raises(PlanError, match="no rows"):
        fit_encoder(_encoder(), source.filter("mail_id < 0"), INPUTS)


def test_encode_refuses_bad_input(source, fitted):
    with pytest.raises(PlanError, match="not fitted"):
        encode(source, _encoder(), columns=INPUTS, keep=KEEP)
    with pytest.raises(ColumnNotFoundError, match="'mail_idd'"):
        encode(source, fitted, columns=INPUTS, keep=["mail_idd"])
    with pytest.raises(ColumnNotFoundError, match="'k'"):  # an input of the encoder missing
        encode(source, fitted, columns=["title", "country", "n"], keep=KEEP)
    with pytest.raises(PlanError, match="cannot be kept"):
        encode(source.withColumnRenamed("label", FEATURES), fitted, columns=INPUTS,
               keep=["mail_id", FEATURES])


# --- reencode: pure pandas, no Spark ------------------------------------------------------

FRAME = pd.DataFrame({
    "title": ["card blocked", "hello", "loan status", "fees", "app crash", "thanks", None, "x"],
    "text": ["my card 4111", "hi", "loan?", "why fees", "it crashed", "ty", "a b", None],
    "country": ["UK", "DE", "FR", "UK", "DE", "FR", "UK", "DE"],
    "a": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 0.5, -1.0],
    "b": [0.5, 0.1, np.nan, 0.9, 0.2, 0.4, 0.3, 0.8],
    "title_length": [12, 5, 11, 4, 9, 6, 0, 1],
    "unused": [1, 2, 3, 4, 5, 6, 7, 8],
})

ENCODERS = {
    "running_example": (running_example_encoder, ["title", "text", "title_length", "country"]),
    "nested_remainder_passthrough": (lambda: ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), ["a", "b"]),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(sparse_output=False, drop="first"))]),
         ["country"]),
        ("title", HashingTextEmbedder(n_features=4), "title"),
    ], remainder="passthrough"), ["a", "b", "country", "title", "unused", "title_length"]),
    "drop_and_multi_column": (lambda: ColumnTransformer([
        ("poly", Pipeline([("impute", SimpleImputer()), ("poly", PolynomialFeatures(2))]),
         ["a", "b"]),
        ("pca", Pipeline([("impute", SimpleImputer()), ("pca", PCA(n_components=1))]),
         ["title_length", "b"]),
        ("gone", "drop", ["text"]),
        ("country", OneHotEncoder(handle_unknown="ignore"), ["country"]),
    ], remainder="drop"), ["a", "b", "title_length", "text", "country", "unused"]),
    "remainder_estimator": (lambda: ColumnTransformer([
        ("country", OneHotEncoder(sparse_output=False), ["country"]),
    ], remainder=StandardScaler()), ["country", "a", "title_length"]),
}


#: Encoders whose one-hot country block ignores unknown categories.
UNKNOWN_OK = {"running_example", "drop_and_multi_column"}


def _changed(frame: pd.DataFrame, columns: list[str], *, unknown: bool) -> pd.DataFrame:
    """New values for ``columns``: a redaction blanks text, categories rotate (with an
    unknown one where the encoder ignores unknowns), numbers move."""
    out = frame.copy()
    for c in columns:
        if c in ("title", "text"):
            out[c] = [None if i % 2 else "redacted" for i in range(len(out))]
        elif c == "country":
            out[c] = ["DE", "FR", "UK", "ES" if unknown else "FR", "UK", "DE", "FR", "UK"]
        else:
            out[c] = out[c] * 2.0 + 3.0
    return out


def _cases():
    for name, (_, inputs) in ENCODERS.items():
        for column in inputs:
            yield name, [column]
        yield name, inputs[:2]
        yield name, list(inputs)


@pytest.mark.parametrize("name, changed", list(_cases()))
def test_reencode_equals_full_encoding_and_leaves_the_rest_untouched(name, changed):
    make, inputs = ENCODERS[name]
    frame = FRAME[inputs]
    ct = make().fit(frame)
    new = _changed(frame, changed, unknown=name in UNKNOWN_OK)
    X = encode_pandas(frame, ct)
    stale = X.copy()
    stale[:] = 7.0  # anything outside the rewritten ranges must survive byte for byte
    X2, ranges = reencode(stale, new, ct, changed)
    expected = encode_pandas(new, ct)
    rewritten = np.zeros(X.shape[1], dtype=bool)
    for start, end in ranges:
        rewritten[start:end] = True
    assert np.array_equal(X2[:, rewritten], expected[:, rewritten], equal_nan=True)
    assert X2[:, ~rewritten].tobytes() == stale[:, ~rewritten].tobytes()
    assert np.all(stale == 7.0)  # the input is not modified in place
    # every column whose value changed lies in a rewritten range ...
    moved = np.any(expected != X, axis=0)
    assert not np.any(moved & ~rewritten)
    # ... the ranges are exactly the blocks of the transformers reading a changed column ...
    blocks = [(ct.output_indices_[n].start, ct.output_indices_[n].stop)
              for n, t, _ in ct.transformers_ if not isinstance(t, str)
              and set(changed) & set(_inputs(ct, n)) and ct.output_indices_[n].stop
              > ct.output_indices_[n].start]
    assert [i for s, e in ranges for i in range(s, e)] == sorted(
        i for s, e in blocks for i in range(s, e))
    # ... and they cover the matrix provenance of the changed columns.
    prov = matrix_provenance(ct)
    assert all(rewritten[s:e].all() for c in changed for s, e in prov[c])
    # on the X rows from the real encoding, the result equals a full re-encoding
    X3, _ = reencode(X, new, ct, changed)
    assert X3.tobytes() == expected.tobytes()


def _inputs(ct: ColumnTransformer, name: str) -> list[str]:
    from spark_lester.features.matrix_provenance import selected_positions

    selector = next(s for n, _, s in ct.transformers_ if n == name)
    names = list(ct.feature_names_in_)
    return [names[p] for p in selected_positions(ct, selector, len(names))]


def test_reencode_of_a_dropped_column_rewrites_nothing():
    make, inputs = ENCODERS["drop_and_multi_column"]
    ct = make().fit(FRAME[inputs])
    X = encode_pandas(FRAME[inputs], ct)
    new = _changed(FRAME[inputs], ["text"], unknown=True)
    X2, ranges = reencode(X, new, ct, ["text", "unused"])
    assert ranges == [] and X2.tobytes() == X.tobytes()


def test_reencode_refuses_bad_input():
    make, inputs = ENCODERS["running_example"]
    ct = make().fit(FRAME[inputs])
    X = encode_pandas(FRAME[inputs], ct)
    with pytest.raises(ColumnNotFoundError, match="mail_subject") as err:
        reencode(X, FRAME, ct, ["mail_subject"])
    assert "title, text, title_length, country" in str(err.value)  # says which inputs exist
    with pytest.raises(PlanError, match="shape"):
        reencode(X[:3], FRAME, ct, ["title"])
    with pytest.raises(ColumnNotFoundError, match="'title'"):
        reencode(X, FRAME.drop(columns=["title"]), ct, ["title"])
    with pytest.raises(PlanError, match="not fitted"):
        reencode(X, FRAME, make(), ["title"])


# --- storing the encoder ------------------------------------------------------------------

def test_dump_and_load_round_trip_transform_the_same():
    make, inputs = ENCODERS["nested_remainder_passthrough"]
    ct = make().fit(FRAME[inputs])
    data = dump_encoder(ct)
    loaded = load_encoder(data)
    assert loaded is not ct
    assert encode_pandas(FRAME[inputs], loaded).tobytes() == \
        encode_pandas(FRAME[inputs], ct).tobytes()
    assert matrix_provenance(loaded) == matrix_provenance(ct)
    assert load_encoder(memoryview(data)).output_indices_ == ct.output_indices_


def test_load_refuses_foreign_damaged_or_other_version_bytes():
    make, inputs = ENCODERS["running_example"]
    ct = make().fit(FRAME[inputs])
    data = dump_encoder(ct)
    with pytest.raises(EncoderFormatError, match="not an encoder"):
        load_encoder(b"\x80\x04not ours")
    with pytest.raises(EncoderFormatError, match="cannot be unpickled"):
        load_encoder(data[:-20])
    magic, header, body = data.split(b"\n", 2)
    forged = json.dumps({"format": 1, "sklearn": "0.0.1"}).encode()
    other = b"\n".join([magic, forged, body])
    with pytest.raises(EncoderFormatError, match="0.0.1"):
        load_encoder(other)
    assert load_encoder(other, check_version=False).output_indices_ == ct.output_indices_
    with pytest.raises(PlanError, match="not fitted"):
        dump_encoder(make())
