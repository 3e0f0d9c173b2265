"""The contract every model backend keeps, and the helpers the backends share.

A backend turns records (dicts of input fields, already adapted and checked
against the product's contract) into outputs, one per record and in order. An
output is a JSON-serialisable dict with at least ``"prediction"``; classifiers
add ``"probabilities"`` (``{class label as str: p}``) when the model can.

A backend class has a stable string ``key`` (the model version's ``flavor``),
the ``options`` it accepts (stored on the gateway route), and four methods:

- ``load(uri, features=..., options=...)`` (a classmethod) loads the artifact
  or connects to the remote model. It blocks (it reads files, resolves hosts):
  from async code, run it in a worker thread. A URI or option that cannot work
  raises InputError; an artifact that cannot be loaded raises BackendError.
- ``await predict(records)`` answers; anything that goes wrong raises
  BackendError, ``retryable=True`` when trying again later may work (timeouts,
  5xx, connection errors). No foreign exception escapes.
- ``await aclose()`` releases what the backend holds; calling it twice is fine.
  A closed backend refuses to predict.
- ``describe()`` says what was loaded, with the URI's credentials, query and
  fragment removed (presigned URLs and function keys live there).

Values are made JSON-ready by :func:`plain`: numpy scalars and arrays become
Python numbers and lists, and NaN or infinite floats become ``None`` (strict
JSON, as Starlette renders it, has no NaN).

>>> redact_uri("https://user:pw@models.example.com:8443/v1/predict?code=s3cret#x")
'https://models.example.com:8443/v1/predict'
>>> plain({"p": float("nan"), "labels": ("a", 1)})
{'p': None, 'labels': ['a', 1]}
"""

from __future__ import annotations

import datetime as dt
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Self, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from postpilot.errors import BackendError, InputError

__all__ = [
    "Backend",
    "Output",
    "Record",
    "as_output",
    "check_count",
    "check_features",
    "error_text",
    "plain",
    "redact_uri",
    "require_fields",
    "suspect_field",
]

Record: TypeAlias = Mapping[str, Any]
Output: TypeAlias = dict[str, Any]
"""One record's answer: ``{"prediction": ..., "probabilities": {...}?, ...}``, JSON-ready."""

_ERROR_TEXT: Final = 300  # characters of a foreign error's message kept in ours
_MISSING: Final = frozenset({"NAType", "NaTType"})  # pandas' pd.NA and pd.NaT


class Backend(ABC):
    """A way to serve a model version; subclasses set ``key`` and ``options``."""

    key: ClassVar[str]
    options: ClassVar[Mapping[str, str]] = {}
    """The options the backend accepts, each with one line saying what it does."""

    def __init__(self, uri: str) -> None:
        self._uri = uri
        self._closed = False

    @classmethod
    @abstractmethod
    def load(
        cls,
        uri: str,
        *,
        features: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Self:
        """Load the artifact at ``uri`` or connect to it.

        ``features`` is the ordered list of input fields (from the product's
        contract) when known; ``options`` are the route's backend options,
        checked with :meth:`check_options`.
        """

    @abstractmethod
    async def predict(self, records: Sequence[Record]) -> list[Output]:
        """One output per record, in order; BackendError for anything that goes wrong."""

    async def aclose(self) -> None:
        """Release what the backend holds. Idempotent; subclasses extend it."""
        self._closed = True

    def describe(self) -> dict[str, Any]:
        """The key, the URI without secrets, and what was loaded (JSON-ready)."""
        return {"key": self.key, "uri": redact_uri(self._uri)}

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError(
                f"the {self.key} backend for {redact_uri(self._uri)} is closed",
                hint="Load the model version again",
            )

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """``options`` as a dict, or InputError naming an unknown key and the accepted ones."""
        if options is None:
            return {}
        if not isinstance(options, Mapping):
            raise InputError(
                f"the {cls.key} backend's options must be a mapping, got {type(options).__name__}",
                field="options",
            )
        accepted = ", ".join(sorted(cls.options)) or "none"
        for name in options:
            if name not in cls.options:
                raise InputError(
                    f"the {cls.key} backend has no option {name!r}; it accepts: {accepted}",
                    field=f"options.{name}" if isinstance(name, str) else "options",
                    hint="Remove the option or correct its spelling",
                )
        return dict(options)


def redact_uri(uri: str) -> str:
    """``uri`` without a user name, password, query or fragment (they may hold secrets)."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port is not None else host
    except ValueError:  # a malformed port or bracket: cut by hand
        head = uri.split("?", 1)[0].split("#", 1)[0]
        scheme, sep, rest = head.partition("://")
        if not sep:
            return head
        authority, slash, path = rest.partition("/")
        return f"{scheme}://{authority.rsplit('@', 1)[-1]}{slash}{path}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: numpy and pandas values converted, NaN as None.

    Raises BackendError for a value with no JSON form (an object, bytes, a set).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if type(value).__name__ in _MISSING:
        return None
    if isinstance(value, int):
        return int(value)  # an IntEnum or a bool subclass: a plain int
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(plain(key)): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # pandas' Timestamp is a datetime
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, pandas Series
    if callable(tolist) and type(value).__module__.split(".")[0] in ("numpy", "pandas"):
        converted = tolist()
        if converted is not value:
            return plain(converted)
    raise BackendError(
        f"the model answered a {type(value).__module__}.{type(value).__qualname__}, "
        "which has no JSON form",
        hint="Make the model return numbers, strings, booleans, lists or dicts",
    )


def check_features(features: Sequence[str] | None) -> list[str] | None:
    """``features`` as a list of distinct names, or InputError (a bare string is refused)."""
    if features is None:
        return None
    if isinstance(features, str | bytes) or not isinstance(features, Sequence):
        raise InputError(
            f"features must be a list of field names, got {type(features).__name__}",
            field="features",
            hint='For example: ["age", "income"]',
        )
    names = list(features)
    for name in names:
        if not isinstance(name, str) or not name:
            raise InputError(
                f"a feature name must be a non-empty string, got {name!r}", field="features"
            )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"features lists {', '.join(duplicates)} more than once", field="features")
    return names


def require_fields(records: Sequence[Record], fields: Sequence[str]) -> None:
    """BackendError naming the first record that is not a mapping or lacks one of ``fields``."""
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise BackendError(
                f"record {index} is a {type(record).__name__}, not a mapping of fields",
                field="records",
            )
        for name in fields:
            if name not in record:
                raise BackendError(
                    f"record {index} has no field {name!r}, which the model needs",
                    field=name,
                    hint=f"The model's fields, in order: {', '.join(fields)}",
                )


def suspect_field(
    records: Sequence[Record], columns: Sequence[str] | None, exc: BaseException
) -> str | None:
    """The field a model's error most likely points at, or None.

    In turn: the one field the message calls a column ("column x"), the one
    field it names at all, the first field whose text value it quotes.

    >>> suspect_field([{"a": "x", "b": 1}], ["a", "b"], ValueError("bad column 'b' in a, b"))
    'b'
    """
    text = str(exc)
    names = list(columns) if columns is not None else sorted({k for r in records for k in r})
    for pattern in (r"column\W{{1,3}}{}(?!\w)", r"(?<!\w){}(?!\w)"):
        found = [name for name in names if re.search(pattern.format(re.escape(name)), text)]
        if len(found) == 1:
            return found[0]
    for name in names:
        for record in records:
            value = record.get(name)
            if isinstance(value, str) and value and repr(value) in text:
                return name
    return None


def as_output(item: Any, *, index: int, wrap_dicts: bool = False) -> Output:
    """One model answer as an output: a dict with ``"prediction"`` kept, anything else wrapped.

    A dict without ``"prediction"`` is wrapped too when ``wrap_dicts`` (a remote
    model's JSON object is its prediction), else refused rather than guessed at.
    """
    if isinstance(item, Mapping) and ("prediction" in item or not wrap_dicts):
        if "prediction" not in item:
            keys = ", ".join(sorted(map(str, item))[:10]) or "none"
            raise BackendError(
                f"output {index} is a dict without a 'prediction' key (keys: {keys})",
                hint="Return {'prediction': value, ...} or a plain value for each record",
            )
        output: Output = plain(item)
        return output
    return {"prediction": plain(item)}


def error_text(exc: BaseException) -> str:
    """``Type: message`` of a foreign exception, shortened for an error message."""
    text = " ".join(str(exc).split())
    if len(text) > _ERROR_TEXT:  # keep both ends: the cause is often at the end
        half = _ERROR_TEXT // 2
        text = f"{text[:half]} … {text[-half:]}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_count(outputs: Sequence[Any], records: Sequence[Record], *, what: str) -> None:
    """BackendError unless there is exactly one answer per record."""
    if len(outputs) != len(records):
        raise BackendError(
            f"{what} gave {len(outputs)} output(s) for {len(records)} record(s)",
            hint="A model must answer exactly once per record, in order",
        )
