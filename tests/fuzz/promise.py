"""The promise every command keeps, checked on one invocation.

DESIGN.md: exit 0 ok, 1 the check found problems, 2 a usage or input error with one
line on stderr naming the file, column, field or option; ``--format json`` output is
valid JSON; nothing half-written after a failure. :func:`run` invokes the CLI
in-process and checks all of it:

- the exit code is 0, 1 or 2 (3, the internal-error code, or a crash fails);
- no traceback: the exception is None or a ``SystemExit``, and no "Traceback" text;
- on exit 2, stderr is exactly one line starting with ``error:``;
- with ``--format json`` and exit 0 or 1, stdout (or the ``--output`` file) parses;
- after a failure (any exit but 0 and 1) the store's row counts and audit head are
  what they were, and the working folder holds exactly the files it held, byte for
  byte; after any exit the inputs are unchanged.

Exit 1 is an answer, not a failure: ``drift --product P`` that finds drift stores its
run and writes its report, so the store and folder checks apply to failures only.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from typer.testing import CliRunner, Result

from postpilot.cli import app
from tests.helpers import CliStore, close_opened_registries

__all__ = ["EXIT_CODES", "folder_state", "run"]

EXIT_CODES = frozenset({0, 1, 2})
SURVEY = os.environ.get("POSTPILOT_FUZZ_SURVEY")  # read on import: tests clear POSTPILOT_*
RUNNER = CliRunner()


def folder_state(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path) with the hash of its bytes."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            state[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def _option_value(args: Sequence[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def describe(result: Result, args: Sequence[str]) -> str:
    return (
        f"\npostpilot {' '.join(repr(a) for a in args)}\nexit {result.exit_code}, "
        f"exception {result.exception!r}\n--- stdout ---\n{result.stdout[-3000:]}"
        f"\n--- stderr ---\n{result.stderr[-3000:]}"
    )


def check(result: Result, args: Sequence[str], *, work: Path | None = None) -> None:
    """The exit code, traceback, error-line and JSON parts of the promise."""
    why = describe(result, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), why
    assert "Traceback" not in result.stdout + result.stderr, why
    assert result.exit_code in EXIT_CODES, why
    if result.exit_code == 2:
        lines = result.stderr.strip("\n").split("\n")
        assert len(lines) == 1, why
        assert lines[0].startswith("error:"), why
    if result.exit_code in (0, 1) and _option_value(args, "--format", "-f") == "json":
        output = _option_value(args, "--output", "-o")
        text = result.stdout
        if output is not None:
            path = Path(output) if work is None else work / output
            text = path.read_text(encoding="utf-8")
        try:
            json.loads(text)
        except ValueError as exc:
            raise AssertionError(f"--format json is not JSON: {exc}{why}") from None


def _survey(exc: AssertionError, args: Sequence[str]) -> bool:
    """With ``POSTPILOT_FUZZ_SURVEY=FILE`` (by hand only, never in CI), a broken promise
    is appended to FILE and the example goes on, so one run lists every failure class
    instead of stopping at the first."""
    if not SURVEY:
        return False
    with open(SURVEY, "a", encoding="utf-8") as out:
        out.write(json.dumps({"args": list(args), "failure": str(exc)[:4000]}) + "\n")
    return True


def run(
    args: Sequence[str],
    *,
    store: CliStore | None = None,
    work: Path | None = None,
    inputs: Iterable[Path] = (),
) -> Result:
    """Invoke ``postpilot ARGS`` in ``work`` (the current folder) and check the promise."""
    work = work or Path.cwd()
    inputs = list(inputs)
    assert Path.cwd().resolve() == work.resolve(), "run() must be called inside its folder"
    before = store.snapshot() if store is not None else None
    files = folder_state(work)
    try:
        result = RUNNER.invoke(app, list(args), catch_exceptions=True)
    finally:
        close_opened_registries()
    try:
        check(result, args, work=work)
        why = describe(result, args)
        after = folder_state(work)
        for path in inputs:
            name = str(path.resolve().relative_to(work.resolve()))
            assert after.get(name) == files.get(name), f"the input {name} was changed{why}"
        if result.exit_code not in (0, 1):
            new = sorted(set(after) - set(files))
            assert after == files, f"files changed after a failure (new: {new}){why}"
            if store is not None:
                assert store.snapshot() == before, f"the store changed after a failure{why}"
    except AssertionError as exc:
        if not _survey(exc, args):
            raise
    return result
