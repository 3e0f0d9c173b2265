"""``policy``, ``incident``, ``notify`` and ``monitor`` on hostile files, paths, numbers
and data sources, on both stores.

Policy files are the two valid policies of the test suite (``example.yaml``, every key a
policy may hold, and the issue-11 scenario's) parsed, mutated (keys dropped or renamed,
values of the wrong type, unknown enum values, huge or not finite numbers, negative
durations, unicode and control characters, deep nesting), written back, and sometimes
damaged as text (a line given twice, a control character, cut short, tabs, another
encoding); or files no one meant as a policy: empty, binary, an alias bomb, a cycle,
a directory, a missing file. ``policy apply`` keeps the promise (:mod:`.promise`), exits
0 or 2, and its error line names the file, with a line number whenever the file could
be read as text.

Monitor passes read a folder of batches in which some files are bad (corrupt Parquet,
a CSV with a header only, columns that share nothing with the training data, empty
files). Batches are processed in order, each committed on its own: a pass that stops
at a bad file names it and keeps what it processed, and the pass after the file is
removed carries on without processing anything twice.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select

from postpilot import Registry
from tests.fuzz.conftest import PRODUCT, Folder
from tests.fuzz.promise import run
from tests.fuzz.strategies import MARKUP, fuzz_settings, hostile_names, numbers, tables
from tests.helpers import CliStore
from tests.policies.scenario import (
    DRIFT_FROM,
    POLICY,
    Receiver,
    batch,
    day_end,
    setup_product,
    write_day,
    write_training,
)

EXAMPLE = (Path(__file__).parents[1] / "policies" / "data" / "example.yaml").read_text("utf-8")
SCENARIO = POLICY.format(url="http://127.0.0.1:9/hook")
ALIASES = """\
schema_version: 1
rules:
  - name: first
    when: &when {metric: drift.share, threshold: 0.5}
    then: &then [notify: owner, open_incident: {severity: high}]
  - name: second
    when: *when
    then: *then
"""
BASES = [yaml.safe_load(text) for text in (EXAMPLE, SCENARIO, ALIASES)]


def _bomb(levels: int = 9) -> str:
    """A "billion laughs": each level lists the one before nine times."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join([*lines, f"rules: *l{levels - 1}"]) + "\n"


SPECIALS: dict[str, bytes] = {
    "empty": b"",
    "blank": b"  \n\n",
    "document-marker": b"---\n",
    "null": b"~\n",
    "list": b"[]\n",
    "scalar": b"just some text\n",
    "two-documents": b"schema_version: 1\nrules: []\n---\nrules: []\n",
    "alias-bomb": _bomb().encode(),
    "alias-cycle": b"schema_version: 1\nrules: &r [*r]\n",
    "deep-flow": b"rules: " + b"[" * 3000 + b"]" * 3000 + b"\n",
    "deep-block": b"rules:\n" + b"".join(b" " * i + b"- \n" for i in range(400)),
    "undefined-alias": b"rules: *nowhere\n",
    "python-tag": b"rules: !!python/object/apply:os.system [echo hi]\n",
    "nul": b"schema_version: 1\x00\nrules: []\n",
    "latin-1": "schema_version: 1\nrules: []\n# café\n".encode("latin-1"),
    "utf-16": "schema_version: 1\nrules: []\n".encode("utf-16"),
    "bom": "schema_version: 1\nrules: []\n".encode("utf-8-sig"),
}

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    -(10**30),
    1e308,
    math.nan,
    math.inf,
    -math.inf,
    0.5,
    "",
    " ",
    "yes",
    "-1h",
    "0s",
    "1.5h",
    "99999999999999999999w",
    "h",
    "sideways",
    "drift.shar",
    "nobody",
    "role_holders",
    "store",
    "naïve ünïcödé",
    "列名",
    "tab\there",
    "nul\x00byte",
    "bell\x07",
    "\u202eevil",
    "a" * 300,
    *MARKUP,
    [],
    {},
    {"x": 1},
    [[[[]]]],
    date(2026, 1, 1),
    b"\x00\xff",
    "https://169.254.169.254/latest",
    "http://user:secret@hooks.example.com/x",
    "ftp://example.com/x",
]


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@dataclass(frozen=True)
class PolicyFile:
    """A policy file as written: ``content`` bytes, or a ``directory``, or nothing."""

    kind: str
    content: bytes | None
    name: str = "policy.yaml"
    directory: bool = False

    def write(self, work: Path) -> Path:
        path = work / self.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.directory:
            path.mkdir()
        elif self.content is not None:
            path.write_bytes(self.content)
        return path

    @property
    def text(self) -> str | None:
        """The file as text, when it is UTF-8 (a line number is then expected)."""
        if self.content is None:
            return None
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None


@st.composite
def mutated_policies(draw: st.DrawFn, product: str = PRODUCT) -> bytes:
    """A valid policy with a few hostile changes, as YAML, maybe damaged as text."""
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    if "product" in data:
        data["product"] = draw(st.sampled_from([product, product, product, "other-product"]))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(data)))
        how = draw(st.sampled_from(["drop", "value", "value", "rename", "repeat", "add", "deep"]))
        if not path:
            if how == "drop":
                data = {}
            continue
        parent, last = _parent(data, path), path[-1]
        if how == "drop":
            del parent[last]
        elif how == "value":
            parent[last] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))
        elif how == "deep":
            parent[last] = _nested(draw(st.sampled_from([3, 99, 150])))
        elif how == "rename" and isinstance(parent, dict):
            parent[draw(hostile_names() | st.sampled_from(["when", "then", "rules"]))] = parent.pop(
                last
            )
        elif how == "repeat" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif how == "add" and isinstance(parent[last], dict):
            parent[last][draw(hostile_names())] = copy.deepcopy(
                draw(st.sampled_from(HOSTILE_VALUES))
            )
    if draw(st.booleans()):
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    else:
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=60)
    damage = draw(
        st.sampled_from(["none"] * 6 + ["line", "key", "char", "cut", "tabs", "encoding"])
    )
    lines = text.splitlines(keepends=True)
    if damage == "line" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        text = "".join(lines)
    elif damage == "key":
        text += draw(st.sampled_from(["rules: []\n", "schema_version: 1\n", "product: x\n"]))
    elif damage == "char":
        i = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(["\x00", "\x07", "\x1b", "\ufeff", "\u2028", "\x85", "\t"]))
        text = text[:i] + char + text[i:]
    elif damage == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "tabs":
        text = text.replace("  ", "\t")
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])) if damage == "encoding" else ""
    return text.encode(encoding or "utf-8", errors="surrogatepass" if not encoding else "replace")


NAMES = ["policy.yaml", "policy.yaml", "pölicy [/] x.yaml", "sub folder/policy.yml", "policy"]


@st.composite
def policy_files(draw: st.DrawFn, product: str = PRODUCT) -> PolicyFile:
    kind = draw(st.sampled_from(["mutated"] * 6 + ["special", "binary", "directory", "missing"]))
    name = draw(st.sampled_from(NAMES))
    if kind == "mutated":
        return PolicyFile(kind, draw(mutated_policies(product)), name)
    if kind == "special":
        special = draw(st.sampled_from(sorted(SPECIALS)))
        return PolicyFile(special, SPECIALS[special], name)
    if kind == "binary":
        return PolicyFile(kind, draw(st.binary(max_size=300)), name)
    return PolicyFile(kind, None, name, directory=kind == "directory")


def _error_names_the_file(line: str, file: PolicyFile) -> None:
    assert file.name in line, f"the error does not name {file.name!r}: {line}"
    if file.text is not None:  # readable text: the line of the mistake
        where = re.escape(file.name) + r":\d+"
        assert re.search(where, line), f"the error names no line of {file.name!r}: {line}"


# -- policy apply ----------------------------------------------------------------------


@given(data=st.data())
@fuzz_settings(8)
def test_policy_apply_keeps_the_promise(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    """Exit 0 or 2; on 2 one line naming the file (and its line), nothing stored; what was
    applied shows, and replays, without an error."""
    file = data.draw(policy_files(), label="file")
    fmt = data.draw(st.sampled_from([[], ["-f", "json"]]), label="format")
    with folder() as work:
        path = file.write(work)
        inputs = [path] if path.is_file() else []
        args = ["policy", "apply", file.name, "--product", PRODUCT, *fmt]
        result = run(args, store=store, work=work, inputs=inputs)
        event(f"policy apply: exit {result.exit_code}")
        assert result.exit_code in (0, 2), result.stderr
        if result.exit_code == 2:
            _error_names_the_file(result.stderr.strip(), file)
            return
        shown = run(["policy", "show", PRODUCT, "-f", "json"], store=store, work=work)
        assert shown.exit_code == 0, shown.stderr
        tried = run(["policy", "test", file.name, "--product", PRODUCT], store=store, work=work)
        assert tried.exit_code in (0, 1), tried.stderr


# -- a world with history: incidents, notifications, stored runs -------------------------


@pytest.fixture
def world(store: CliStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """The scenario's product ``churn`` after a pass over its first drifted day: stored
    runs, incident #1, notifications; its policy's webhook ``ops`` reaches a receiver."""
    home = tmp_path / "world"
    home.mkdir()
    monkeypatch.setenv("OPS_SECRET", "s3cret")
    receiver = Receiver()
    with Registry() as reg:
        setup_product(reg, home)
    policy = home / "policy.yaml"
    policy.write_text(
        POLICY.format(url=receiver.url).replace("via: [ops]", "via: [store]"), encoding="utf-8"
    )
    write_day(home, DRIFT_FROM)
    monkeypatch.chdir(home)
    assert run(["policy", "apply", str(policy), "--product", "churn"], store=store).exit_code == 0
    at = day_end(DRIFT_FROM).isoformat()
    passed = run(["monitor", "run", "--product", "churn", "--as-of", at])
    assert passed.exit_code == 1, passed.stdout
    try:
        yield receiver
    finally:
        receiver.close()


PRODUCTS = st.sampled_from(["churn", "churn", PRODUCT, "nosuch", "[/]", "Churn", ""])
OUTPUTS = [
    "schema.json",
    "schema.json",
    ".",
    "sub",
    "pipe",
    "missing/schema.json",
    "/proc/nope/s.json",
    "/proc/version",
]


def _policy_commands(store: CliStore, world: Receiver, work: Path, data: st.DataObject) -> None:
    """``policy test`` replays churn's stored history through a hostile file (nothing is
    stored or sent, whatever it finds); ``policy show`` and ``policy schema -o`` take
    hostile products, formats and output paths."""
    file = data.draw(policy_files(product="churn"), label="file")
    product = data.draw(PRODUCTS, label="product")
    path = file.write(work)
    inputs = [path] if path.is_file() else []
    (work / "sub").mkdir()
    os.mkfifo(work / "pipe")
    before = store.snapshot()
    sent = len(world.requests)
    fmt = data.draw(st.sampled_from(["json", "table", "yaml"]), label="test format")
    tried = run(
        ["policy", "test", file.name, "--product", product, "-f", fmt],
        store=store,
        work=work,
        inputs=inputs,
    )
    assert store.snapshot() == before, "policy test stored something"
    assert len(world.requests) == sent, "policy test sent something"
    if tried.exit_code == 2 and product == "churn" and fmt != "yaml":
        _error_names_the_file(tried.stderr.strip(), file)
    fmt = data.draw(st.sampled_from(["json", "yaml", "table", "xml", ""]), label="show format")
    run(["policy", "show", product, "-f", fmt], store=store, work=work)
    target = data.draw(st.sampled_from([*OUTPUTS, file.name]), label="schema output")
    schema = run(["policy", "schema", "-o", target], store=store, work=work)
    if schema.exit_code == 2:
        assert target in schema.stderr, schema.stderr


STATUSES = ["open", "acknowledged", "resolved", "pending", "delivered", "failed"]
COUNTS = numbers() | st.sampled_from(
    ["1", "2", "9223372036854775807", "9223372036854775808", "2147483648", " 1", "0x1"]
)


def _incident_and_notify_commands(store: CliStore, work: Path, data: st.DataObject) -> None:
    """``incident show|ack|resolve N`` with hostile N and notes, ``incident list`` and
    ``notify list`` with hostile statuses and products, ``notify test`` with hostile
    channels."""
    notes = hostile_names() | st.just("n" * 5000)
    statuses = st.sampled_from([*STATUSES, "OPEN", "open ", "", "[/]", "nul\x00"]) | hostile_names()
    for i in range(data.draw(st.integers(1, 4), label="commands")):
        kind = data.draw(st.sampled_from(["show", "ack", "resolve", "list", "notify"]))
        fmt = ["-f", data.draw(st.sampled_from(["json", "table"]))]
        if kind in ("show", "ack", "resolve"):
            args = ["incident", kind, data.draw(COUNTS, label=f"N {i}")]
            if kind != "show" and data.draw(st.booleans()):
                args += ["--note", data.draw(notes)]
            if kind == "show":
                args += fmt
        elif kind == "list":
            args = ["incident", "list", "--status", data.draw(statuses), *fmt]
            if data.draw(st.booleans()):
                args += ["--product", data.draw(PRODUCTS)]
        else:
            args = ["notify", "list", "--status", data.draw(statuses), *fmt]
            if data.draw(st.booleans()):
                args += ["--product", data.draw(PRODUCTS)]
        run(args, store=store, work=work)
    channel = data.draw(
        st.sampled_from(["store", "console", "ops", "STORE", "ops ", "nosuch", "[/]", ""])
        | hostile_names(),
        label="channel",
    )
    args = ["notify", "test", channel]
    if data.draw(st.booleans()):
        args += ["--product", data.draw(PRODUCTS)]
    if data.draw(st.booleans()):
        args += ["--to", data.draw(st.sampled_from(["lee@example.com", "no-at", "[/]", ""]))]
    run(args, store=store, work=work)
    listed = run(["incident", "list", "-f", "json"], store=store, work=work)
    assert listed.exit_code == 0, listed.stderr


@given(data=st.data())
@fuzz_settings(5)
def test_commands_on_stored_history_keep_the_promise(
    store: CliStore, world: Receiver, folder: Folder, data: st.DataObject
) -> None:
    """The policy, incident and notify commands on a product with runs, an incident and
    notifications stored."""
    with folder() as work:
        _policy_commands(store, world, work, data)
        _incident_and_notify_commands(store, work, data)


# -- monitor run: hostile times and sources ------------------------------------------------

AS_OF = [
    "2026-03-12T06:00:00+00:00",
    "2026-03-12T06:00:00",  # naive: read as UTC
    "2026-03-12",
    "2026-03-12T06:00:00+14:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "0000-01-01T00:00:00",
    "1970-01-01T00:00:00Z",
    "2026-02-30T00:00:00",
    "2026-03-12T06:00:00+25:00",
    "yesterday",
    "",
    "-1",
    "[/]",
]
BAD_BATCHES = ["corrupt-parquet", "truncated-parquet", "header-only", "disjoint", "empty-csv"]
SOURCES = [
    "batches",
    "batches",
    "batches/*.parquet",
    "batches/*",
    "batches/day01.parquet",
    "missing",
    "empty",
]


@dataclass(frozen=True)
class Source:
    path: str
    batches: tuple[str, ...]
    """Per file, in natural order: "good", a kind of bad, or "hostile" (any table)."""


@st.composite
def sources(draw: st.DrawFn) -> Source:
    path = draw(st.sampled_from(SOURCES))
    kinds = st.sampled_from(["good", "good", *BAD_BATCHES, "hostile"])
    return Source(path, tuple(draw(st.lists(kinds, min_size=1, max_size=4))))


def _write_batch(folder: Path, day: int, kind: str, draw: st.DrawFn) -> Path:
    """Batch ``day`` of the given kind, named so files sort in the order written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"day{day:02d}"
    good = batch(day, rows=150, drifted=day >= 3)
    if kind == "good":
        path = stem.with_suffix(".parquet")
        good.write_parquet(path)
    elif kind == "corrupt-parquet":
        path = stem.with_suffix(".parquet")
        path.write_bytes(b"PAR1" + bytes(range(256)) * 3 + b"PAR1")
    elif kind == "truncated-parquet":
        path = stem.with_suffix(".parquet")
        good.write_parquet(path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "header-only":
        path = stem.with_suffix(".csv")
        path.write_text(",".join(good.columns) + "\n", encoding="utf-8")
    elif kind == "disjoint":
        path = stem.with_suffix(".parquet")
        good.rename({c: f"other_{c}" for c in good.columns}).write_parquet(path)
    elif kind == "empty-csv":
        path = stem.with_suffix(".csv")
        path.write_bytes(b"")
    else:
        path = draw(tables(max_rows=20)).write(stem)
    return path


_products = itertools.count()


def _monitored_product(store: CliStore, work: Path, training: Path, source: str) -> str:
    """A new product whose policy (applied from ``work/policy.yaml``) reads ``source``."""
    slug = f"mon-{next(_products)}"
    with Registry() as reg:
        reg.create_product(slug, stage="pilot", owner="owner@example.com")
        reg.register_model(slug, artifact="m.joblib", flavor="sklearn", training_data=str(training))
    (work / "policy.yaml").write_text(
        f"schema_version: 1\nproduct: {slug}\nsource: {{path: '{source}', timestamp: scored_at}}\n"
        "rules:\n  - name: drifted\n    when: {metric: drift.share, threshold: 0.5}\n"
        "    then:\n      - notify: {to: owner, via: [store]}\n"
        "      - open_incident: {severity: high}\n"
        "      - escalate: {to: owner, after: 1d, via: [store]}\n",
        encoding="utf-8",
    )
    applied = run(["policy", "apply", "policy.yaml", "--product", slug], store=store, work=work)
    assert applied.exit_code == 0, applied.stderr
    return slug


def _processed(store: CliStore, slug: str) -> list[str]:
    """The labels of the batches monitor passes processed for ``slug``, in order."""
    from postpilot.store.models import MonitorBatchRow, ProductRow

    with store.engine.connect() as conn:
        query = (
            select(MonitorBatchRow.label)
            .join(ProductRow, ProductRow.id == MonitorBatchRow.product_id)
            .where(ProductRow.slug == slug)
            .order_by(MonitorBatchRow.id)
        )
        return [str(label) for label in conn.execute(query).scalars()]


def _runs(store: CliStore, slug: str) -> list[tuple[int, str, str]]:
    """(id, kind, current) of every monitoring run of ``slug``."""
    from postpilot.store.models import MonitoringRunRow, ProductRow

    with store.engine.connect() as conn:
        query = (
            select(MonitoringRunRow.id, MonitoringRunRow.kind, MonitoringRunRow.current)
            .join(ProductRow, ProductRow.id == MonitoringRunRow.product_id)
            .where(ProductRow.slug == slug)
        )
        return [(int(i), str(k), str(c)) for i, k, c in conn.execute(query)]


@pytest.fixture
def training(store: CliStore, tmp_path: Path) -> Path:
    """The scenario's training data, written once for every example."""
    return write_training(tmp_path)


@given(data=st.data())
@fuzz_settings(3)
def test_monitor_run_keeps_the_promise_and_resumes(
    store: CliStore, training: Path, folder: Folder, data: st.DataObject
) -> None:
    """A pass over a source holding bad batches: exit 0, 1 or 2; on 2 the line names the
    bad file (or --as-of); the batches before it stay processed, and the next pass, once
    the bad files are gone, processes the rest and nothing twice."""
    source = data.draw(sources(), label="source")
    as_of = data.draw(st.sampled_from([None, AS_OF[0]]) | st.sampled_from(AS_OF), label="as-of")
    fmt = data.draw(st.sampled_from(["json", "table"]), label="format")
    with folder() as work:
        slug = _monitored_product(store, work, training, source.path)
        if source.path == "empty":
            (work / "empty").mkdir()
        files = [
            _write_batch(work / "batches", day, kind, data.draw)
            for day, kind in enumerate(source.batches, start=1)
        ]
        listed = {
            "batches": files,
            "batches/*": files,
            "batches/*.parquet": [f for f in files if f.suffix == ".parquet"],
            "batches/day01.parquet": [f for f in files if f.name == "day01.parquet"],
        }.get(source.path, [])
        args = ["monitor", "run", "--product", slug, "-f", fmt]
        if as_of is not None:
            args += ["--as-of", as_of]
        before = store.snapshot()
        first = run(args, work=work, inputs=files)  # a failed pass keeps what it processed
        done = _processed(store, slug)
        event(f"monitor run: exit {first.exit_code}, {len(done)} of {len(listed)} processed")
        assert done == [str(f.resolve()) for f in listed[: len(done)]], "not processed in order"
        line = first.stderr.strip()
        folder_of_source = work / source.path.split("/")[0]
        missing = not folder_of_source.is_dir()
        if first.exit_code == 2 and "--as-of" in line:
            assert store.snapshot() == before, "a pass refused for --as-of changed the store"
        elif first.exit_code == 2:
            if missing:
                assert folder_of_source.name in line, line
            else:
                assert listed[len(done)].name in line, f"the error names no bad file: {line}"
                event(f"monitor run: stopped at {source.batches[files.index(listed[len(done)])]}")
        runs_before = {r[0] for r in _runs(store, slug)}
        for path, kind in zip(files, source.batches, strict=True):
            if kind != "good":
                path.unlink()
        if missing:
            return
        at = day_end(len(files) + 1).isoformat()
        again = run(["monitor", "run", "--product", slug, "--as-of", at], work=work)
        assert again.exit_code in (0, 1), again.stderr
        after = _processed(store, slug)
        assert after[: len(done)] == done
        assert len(after) == len(set(after)), "a batch was processed twice"
        good = [f for f, kind in zip(files, source.batches, strict=True) if kind == "good"]
        assert {str(f.resolve()) for f in good if f in listed} <= set(after)
        runs = _runs(store, slug)
        assert runs_before <= {r[0] for r in runs}
        per_batch = [(kind, current) for _, kind, current in runs]
        assert len(per_batch) == len(set(per_batch)), "a batch has two runs of one kind"
