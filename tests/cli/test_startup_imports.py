"""The CLI imports what a command needs when it runs, not at start-up (issue 12).

``postpilot --help`` and ``postpilot version`` must answer at once, so neither the
registry (SQLAlchemy), pydantic nor the data stack (polars, pyarrow, numpy, ...) may be
imported to build the app or print help. Each check runs in a fresh interpreter and
looks at ``sys.modules`` afterwards: structural, no timing (the time is measured by
``bench/startup_bench.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from postpilot.cli import app

HEAVY = (
    "sqlalchemy",
    "pydantic",
    "polars",
    "pyarrow",
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "fastapi",
    "starlette",
    "uvicorn",
)
"""Packages that cost tenths of a second to import, none needed to print help."""

RUNNER = """
import contextlib, io, json, sys

HEAVY = set({heavy!r})

def loaded():
    return sorted(HEAVY & {{name.split(".")[0] for name in sys.modules}})

found = {{}}
from postpilot.cli import app
found["building the app"] = loaded()
for argv in {invocations!r}:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            app(args=argv, prog_name="postpilot")
            code = 0
        except SystemExit as done:
            code = done.code
    found[" ".join(argv)] = [code, out.getvalue(), loaded()]
print(json.dumps(found), file=sys.stderr)
"""


def run_cli(invocations: list[list[str]]) -> dict[str, list[object]]:
    """Build the app and run each command line in one fresh interpreter; what each saw."""
    code = textwrap.dedent(RUNNER).format(heavy=HEAVY, invocations=invocations)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[object]] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


def group_names() -> list[str]:
    return sorted(
        str(group.typer_instance.info.name)
        for group in app.registered_groups
        if group.typer_instance is not None
    )


def command_names() -> list[str]:
    return sorted(str(command.name) for command in app.registered_commands)


def test_the_app_has_the_groups_and_commands_checked_below() -> None:
    # The lists the next test walks are read from the app: a new group is checked too.
    assert {"person", "product", "contract", "policy", "labels", "audit"} <= set(group_names())
    assert {"drift", "estimate", "version", "serve", "demo", "init"} <= set(command_names())


def test_help_and_version_import_nothing_heavy() -> None:
    invocations = [
        ["--help"],
        ["version"],
        *([name, "--help"] for name in command_names()),
        *([name, "--help"] for name in group_names()),
        ["contract", "check", "--help"],
        ["person", "add", "--help"],
    ]
    found = run_cli(invocations)
    assert found.pop("building the app") == []
    for argv in invocations:
        code, out, heavy = found[" ".join(argv)]
        assert code == 0, (argv, out)
        assert heavy == [], f"postpilot {' '.join(argv)} imported {heavy}"
    version = found["version"][1]
    assert isinstance(version, str)
    assert version.strip() == __import__("postpilot").__version__
    assert "Usage: postpilot drift" in str(found["drift --help"][1])


@pytest.mark.parametrize("name", ["Registry", "Person", "Stage", "to_data"])
def test_import_postpilot_is_light_and_its_registry_names_resolve(name: str) -> None:
    code = f"""
import sys
import postpilot
heavy = sorted(set({HEAVY!r}) & {{m.split(".")[0] for m in sys.modules}})
assert heavy == [], heavy
assert "postpilot.registry" not in sys.modules
assert {name!r} in dir(postpilot) and {name!r} in postpilot.__all__
value = postpilot.{name}
from postpilot.registry import {name} as direct
assert value is direct
assert vars(postpilot)[{name!r}] is direct  # resolved once, then a plain attribute
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import postpilot
    import postpilot.registry

    with pytest.raises(AttributeError, match="no attribute 'Registri'"):
        _ = postpilot.Registri  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'Registri'"):
        _ = postpilot.registry.Registri  # type: ignore[attr-defined]
