"""Registry commands (``person``, ``team``, ``product``, ``role``, ``source``, ``model``,
``audit``, ``init``) with hostile names, on both stores.

Each example runs a few changes with names that hold markup, ``@``, NUL, unicode or
hundreds of characters, then every listing in both formats: whatever was stored must
show without a crash (a stored ``[/]`` must not break ``person list``), each failed
change must leave the store as it was, and the audit chain must stay intact.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import PRODUCT, Folder
from tests.fuzz.promise import run
from tests.fuzz.strategies import fuzz_settings, hostile_names, numbers
from tests.helpers import CliStore

ROLES = ["owner", "data_steward", "integration_lead", "training_lead", "monitoring_lead"]
STAGES = ["proposed", "pilot", "production", "retired"]


def emails() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["owner@example.com", "a@example.com", "b@example.com"]),
        st.sampled_from(["x" * 250 + "@example.com", "no-at-sign", "a@b", "@", "[/]@example.com"]),
        hostile_names().map(lambda s: f"{s}@example.com"),
        hostile_names(),
    )


def slugs() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([PRODUCT, "churn", "churn", "b" * 70, "Bad Slug", "[/]", "x"]),
        hostile_names(),
    )


def texts() -> st.SearchStrategy[str]:
    return st.one_of(hostile_names(), st.just("y" * 5000))


@st.composite
def commands(draw: st.DrawFn) -> list[str]:
    kind = draw(
        st.sampled_from(
            [
                "person add",
                "person deactivate",
                "person activate",
                "team add",
                "product create",
                "product stage",
                "role assign",
                "source add",
                "model register",
                "init",
            ]
        )
    )

    def maybe() -> bool:
        return draw(st.booleans())

    if kind == "person add":
        args = ["person", "add", draw(emails()), "--name", draw(texts())]
        if maybe():
            args += ["--team", draw(hostile_names() | st.just("ml"))]
    elif kind == "person deactivate":
        args = ["person", "deactivate", draw(emails())]
        if maybe():
            args += ["--reason", draw(texts())]
    elif kind == "person activate":
        args = ["person", "activate", draw(emails())]
    elif kind == "team add":
        args = ["team", "add", draw(hostile_names() | st.just("ml"))]
        if maybe():
            args += ["--description", draw(texts())]
    elif kind == "product create":
        args = ["product", "create", draw(slugs())]
        for option, values in (
            ("--name", texts()),
            ("--stage", st.sampled_from([*STAGES, "nosuch"])),
            ("--owner", emails()),
            ("--purpose", texts()),
            ("--kpi", texts()),
            ("--team", hostile_names() | st.just("ml")),
            ("--sla-latency-ms", numbers()),
            ("--sla-availability", numbers()),
            ("--sla-metric", hostile_names() | st.just("roc_auc")),
            ("--sla-threshold", numbers()),
            ("--monthly-budget", numbers()),
        ):
            if draw(st.integers(0, 3)) == 0:
                args += [option, draw(values)]
    elif kind == "product stage":
        args = ["product", "stage", draw(slugs()), draw(st.sampled_from([*STAGES, "[/]"]))]
        if maybe():
            args += ["--reason", draw(texts())]
    elif kind == "role assign":
        who = draw(st.lists(emails(), min_size=1, max_size=2))
        args = ["role", "assign", draw(slugs()), draw(st.sampled_from([*ROLES, "boss"])), *who]
        if maybe():
            args += ["--source", draw(hostile_names() | st.just("crm"))]
        if maybe():
            args += ["--reason", draw(texts())]
    elif kind == "source add":
        args = ["source", "add", draw(slugs()), draw(hostile_names() | st.just("crm"))]
        if maybe():
            args += ["--description", draw(texts())]
        if maybe():
            args += ["--steward", draw(emails())]
    elif kind == "model register":
        args = ["model", "register", draw(slugs()), "--artifact", draw(texts())]
        args += ["--flavor", draw(hostile_names() | st.just("sklearn"))]
        if maybe():
            args += ["--model", draw(hostile_names())]
        if maybe():
            args += ["--metric", f"{draw(hostile_names())}={draw(numbers())}"]
        if maybe():
            args += ["--training-data", draw(st.sampled_from(["s3://b/k", "[/]", "x" * 3000]))]
            if maybe():
                args += ["--training-rows", draw(numbers())]
    else:
        args = ["init"]
    if draw(st.booleans()):
        args += ["-f", draw(st.sampled_from(["json", "table", "xml"]))]
    return args


LISTINGS = [
    ["person", "list"],
    ["team", "list"],
    ["product", "list"],
    ["product", "show", PRODUCT],
    ["audit", "log"],
    ["contract", "list"],
]


@given(data=st.data())
@fuzz_settings(6)
def test_registry_commands_keep_the_promise(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    with folder() as work:
        for i in range(data.draw(st.integers(1, 4), label="changes")):
            run(data.draw(commands(), label=f"command {i}"), store=store, work=work)
        slug = data.draw(slugs(), label="shown product")
        fmt = data.draw(st.sampled_from(["table", "json"]), label="format")
        for args in [*LISTINGS, ["product", "show", slug]]:
            result = run([*args, "-f", fmt], store=store, work=work)
            if args[:2] != ["product", "show"]:
                assert result.exit_code == 0, result.stderr
        verified = run(["audit", "verify", "-f", fmt], store=store, work=work)
        assert verified.exit_code == 0, verified.stdout
