"""The helpers every backend shares: URI redaction, JSON-ready values, option checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from postpilot.errors import BackendError, InputError
from postpilot.gateway.backends.base import (
    as_output,
    check_features,
    error_text,
    plain,
    redact_uri,
    suspect_field,
)
from postpilot.gateway.backends.http import HttpBackend
from postpilot.gateway.backends.sklearn import SklearnBackend


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://u:pw@host.example:8443/p?code=k#frag", "https://host.example:8443/p"),
        ("s3://key:secret@bucket/model.pkl?X-Amz-Signature=abc", "s3://bucket/model.pkl"),
        ("models:/penguins/3", "models:/penguins/3"),
        ("runs:/0a1b/model", "runs:/0a1b/model"),
        ("file:///srv/models/m.joblib", "file:///srv/models/m.joblib"),
        ("/srv/models/m.joblib", "/srv/models/m.joblib"),
        ("http://[::1]:8080/p?t=1", "http://[::1]:8080/p"),
        ("http://u:pw@host:99999/p?t=1", "http://host:99999/p"),  # a port out of range
    ],
)
def test_redact_uri_removes_credentials_query_and_fragment(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_plain_makes_values_json_ready() -> None:
    value: dict[Any, Any] = {
        "int": np.int64(3),
        "float": np.float32(0.5),
        "nan": np.float64("nan"),
        "inf": float("inf"),
        "array": np.array([[1, 2], [3, 4]]),
        "bool": np.bool_(True),
        "na": pd.NA,
        "nat": pd.NaT,
        "when": pd.Timestamp("2026-01-02T03:04:05"),
        "day": dt.date(2026, 1, 2),
        1: ("a", np.str_("b")),
    }
    assert plain(value) == {
        "int": 3,
        "float": 0.5,
        "nan": None,
        "inf": None,
        "array": [[1, 2], [3, 4]],
        "bool": True,
        "na": None,
        "nat": None,
        "when": "2026-01-02T03:04:05",
        "day": "2026-01-02",
        "1": ["a", "b"],
    }
    assert type(plain(np.int64(3))) is int


@pytest.mark.parametrize("value", [object(), b"bytes", {1, 2}])
def test_plain_refuses_what_has_no_json_form(value: Any) -> None:
    with pytest.raises(BackendError, match="no JSON form"):
        plain(value)


def test_as_output_keeps_wraps_or_refuses() -> None:
    assert as_output({"prediction": np.int64(1), "p": 0.5}, index=0) == {"prediction": 1, "p": 0.5}
    assert as_output(2.5, index=0) == {"prediction": 2.5}
    assert as_output({"score": 1}, index=0, wrap_dicts=True) == {"prediction": {"score": 1}}
    with pytest.raises(BackendError, match="output 4 is a dict without"):
        as_output({"score": 1}, index=4)


@pytest.mark.parametrize(
    ("features", "message"),
    [("age", "list of field names"), (["a", 1], "non-empty string"), (["a", "b", "a"], "a more")],
)
def test_check_features_refuses_what_is_not_a_list_of_names(features: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        check_features(features)
    assert caught.value.field == "features"


def test_check_options_wants_a_mapping_of_known_keys() -> None:
    assert HttpBackend.check_options(None) == {}
    with pytest.raises(InputError, match="must be a mapping"):
        HttpBackend.check_options(["timeout"])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="it accepts: none") as caught:
        SklearnBackend.check_options({"timeout": 3})
    assert caught.value.field == "options.timeout"


def test_suspect_field_reads_the_error_message() -> None:
    records = [{"a": "x", "b": 1.0, "c": "deep"}]
    columns = ["a", "b", "c"]
    assert suspect_field(records, columns, ValueError("Failed to convert column b")) == "b"
    assert suspect_field(records, columns, ValueError("bad value for c")) == "c"
    assert suspect_field(records, columns, ValueError("cannot convert 'deep'")) == "c"
    assert suspect_field(records, columns, ValueError("a, b and c are wrong")) is None


def test_error_text_keeps_both_ends_of_a_long_message() -> None:
    text = error_text(ValueError("start " + "x" * 1000 + " the cause"))
    assert text.startswith("ValueError: start")
    assert text.endswith("the cause")
    assert len(text) < 320
