"""The gateway's commands (``consumer``, ``key``, ``route``, ``adapter``, ``predictions``)
with hostile names, values and files, on both stores.

Each example runs a few of them: whatever exit code, it is 0, 1 or 2 with one line on
failure, a failed command leaves the store and the working folder as they were, and
the listings and the audit chain survive whatever was stored. (The HTTP side is
fuzzed by tests/gateway/test_malformed.py and test_schemathesis.py.)
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import PRODUCT, Folder
from tests.fuzz.promise import run
from tests.fuzz.strategies import fuzz_settings, hostile_names, numbers
from tests.helpers import CliStore

SCOPES = ["predict", "feedback", "view", "admin"]
ADAPTERS = [
    f"schema_version: 1\nproduct: {PRODUCT}\nrename:\n  a: b\n",
    f"schema_version: 1\nproduct: {PRODUCT}\nrenames:\n  a: b\n",
    f"schema_version: 1\nproduct: {PRODUCT}\nderive:\n  x: '__import__(\"os\")'\n",
    f"schema_version: 1\nproduct: {PRODUCT}\nderive:\n  x: 10**10**10\n",
    f"schema_version: 1\nproduct: {PRODUCT}\nunits:\n  a: {{from: parsecs, to: cents}}\n",
    "schema_version: 1\nproduct: nosuch\n",
    f"schema_version: 1\nproduct: {PRODUCT}\nconsumer: nosuch\n",
    "a: [1, 2\n",
    "",
    "\x00\x01",
    "&a [*a]\n",
]


def consumers() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["crm", "crm", "Bad Name", "[/]", "x" * 70]), hostile_names())


def key_ids() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["AAAAAAAAAAAA", "nosuch", ""]), hostile_names())


@st.composite
def commands(draw: st.DrawFn) -> tuple[list[str], list[Path]]:
    """A gateway command and the input files it reads (written into the folder)."""
    kind = draw(
        st.sampled_from(
            [
                "consumer add",
                "key create",
                "key revoke",
                "key rotate",
                "route set",
                "route fallback",
                "adapter apply",
                "adapter suggest",
                "predictions export",
            ]
        )
    )
    inputs: list[Path] = []
    if kind == "consumer add":
        args = ["consumer", "add", draw(consumers())]
        if draw(st.booleans()):
            args += ["--description", draw(hostile_names())]
        if draw(st.booleans()):
            args += ["--contact", draw(st.sampled_from(["ops@example.com", "not-an-email"]))]
    elif kind == "key create":
        args = ["key", "create", draw(consumers())]
        for _ in range(draw(st.integers(0, 2))):
            args += ["--product", draw(st.sampled_from([PRODUCT, "*", "nosuch", "[/]"]))]
        for _ in range(draw(st.integers(0, 2))):
            args += ["--scope", draw(st.sampled_from([*SCOPES, "root", ""]))]
        if draw(st.booleans()):
            args += ["--rate", draw(st.sampled_from(["10/s", "5/min", "0/s", "fast", "-1/s"]))]
        if draw(st.booleans()):
            args += ["--burst", draw(numbers())]
    elif kind in ("key revoke", "key rotate"):
        args = ["key", kind.split()[1], draw(key_ids())]
        if kind == "key rotate" and draw(st.booleans()):
            args += ["--overlap", draw(st.sampled_from(["24h", "0s", "soon", "-1h", "9" * 30]))]
    elif kind == "route set":
        args = ["route", "set", draw(st.sampled_from([PRODUCT, "nosuch"]))]
        if draw(st.booleans()):
            args += ["--version", draw(numbers())]
        fallback = draw(st.integers(0, 4))
        if fallback == 1:
            args += ["--fallback-constant", draw(st.sampled_from(['"no"', "{", "NaN", "[/]"]))]
        elif fallback == 2:
            args += ["--fallback-rule", draw(st.sampled_from(["os:system", "x", "a.b:c"]))]
        elif fallback == 3:
            args += ["--fallback-unavailable", draw(numbers())]
        elif fallback == 4:
            args += ["--no-fallback"]
        if draw(st.booleans()):
            args += ["--option", draw(st.sampled_from(["max_batch=0", "x", "features=[1]"]))]
    elif kind == "route fallback":
        args = ["route", "fallback", PRODUCT, draw(st.sampled_from(["on", "off", "maybe"]))]
        if draw(st.booleans()):
            args += ["--reason", draw(hostile_names())]
    elif kind == "adapter apply":
        path = Path("adapter.yaml")
        path.write_text(draw(st.sampled_from(ADAPTERS)), encoding="utf-8")
        inputs.append(path)
        args = ["adapter", "apply", str(path)]
    elif kind == "adapter suggest":
        path = Path("batch.csv")
        path.write_text("a,b\n1,2\n", encoding="utf-8")
        inputs.append(path)
        args = ["adapter", "suggest", draw(st.sampled_from([PRODUCT, "nosuch"])), str(path)]
        if draw(st.booleans()):
            args += ["-o", draw(st.sampled_from(["out.yaml", "batch.csv", ".", "no/such/x"]))]
    else:
        args = ["predictions", "export", draw(st.sampled_from([PRODUCT, "nosuch"]))]
        args += ["-o", draw(st.sampled_from(["log.parquet", ".", "no/such/x", "log.jsonl"]))]
        if draw(st.booleans()):
            args += ["--format", draw(st.sampled_from(["parquet", "jsonl", "csv"]))]
        if draw(st.booleans()):
            args += ["--since", draw(st.sampled_from(["2026-01-01", "yesterday"]))]
    if kind not in ("adapter suggest", "predictions export") and draw(st.booleans()):
        args += ["-f", draw(st.sampled_from(["json", "table", "xml"]))]
    return args, inputs


@given(data=st.data())
@fuzz_settings(6)
def test_gateway_commands_keep_the_promise(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    with folder() as work:
        run(["consumer", "add", "crm"], store=store, work=work)
        for i in range(data.draw(st.integers(1, 4), label="commands")):
            args, inputs = data.draw(commands(), label=f"command {i}")
            run(args, store=store, work=work, inputs=inputs)
        fmt = data.draw(st.sampled_from(["table", "json"]), label="format")
        for args in (["consumer", "list"], ["key", "list"], ["audit", "log"]):
            listed = run([*args, "-f", fmt], store=store, work=work)
            assert listed.exit_code == 0, listed.stderr
        verified = run(["audit", "verify", "-f", fmt], store=store, work=work)
        assert verified.exit_code == 0, verified.stdout
