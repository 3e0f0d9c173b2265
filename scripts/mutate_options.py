#!/usr/bin/env python3
"""Break the wiring of each CLI option in turn, and check that a test fails.

tests/cli/test_option_coverage.py proves that every option is *mentioned* by a test.
This tool proves the stronger claim: for each ``(command, option)`` of the ``postpilot``
command tree (``--help`` and required parameters left out: a required option cannot
be ignored), it runs the tests that use the option (the coverage test's mapping) with
the option *parsed but ignored* (scripts/mutate_hook/sitecustomize.py: the command
gets the value it gets when the option is not given), in-process and in every
``postpilot`` process the tests start. The mutant is

* ``killed``: pytest exits 1 after the mutation fired (a test noticed);
* ``SURVIVED``: pytest exits 0 after the mutation fired (no test noticed);
* ``UNUSED``: pytest exits 0 and the mutation never fired (the tests mention the option
  but never pass it to this command);
* ``timeout``: the tests ran past ``--timeout`` (a test that waits or loops for ever
  without the option: a kill in effect, but a slow one; better make the test fail);
* ``error``: anything else (exit 1 without the mutation firing means the tests fail
  unmutated; exit 2-5: interrupted, collection error, no tests);
* ``allowed``: in :data:`ALLOWED`, not run (the reason is printed);
* ``equivalent``: one side of a flag pair whose value is the default (``--store``
  when the default is ``--store``): ignoring it changes nothing, not run.

A flag pair (``--store/--no-store``) gives one mutant per side. This is a by-hand
tool, not part of the CI suite (a full run takes tens of minutes)::

    .venv/bin/python scripts/mutate_options.py                      # every option
    .venv/bin/python scripts/mutate_options.py --only "contract infer"
    .venv/bin/python scripts/mutate_options.py --only "drift --test" -m "not postgres"

It exits 1 if a mutant survived, went unused, timed out or errored, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOOK = ROOT / "scripts" / "mutate_hook"
sys.path.insert(0, str(ROOT))

from tests.cli.test_option_coverage import commands, users  # noqa: E402

ALLOWED: dict[tuple[str, str], str] = {
    # (command path, option): why breaking its wiring cannot fail a test. Keep each
    # reason checkable; an option that could be tested gets a test instead.
}

TIMEOUT = 600
"""Seconds one pytest run may take (``--timeout``) before it counts as a timeout."""


@dataclass
class Mutant:
    path: tuple[str, ...]
    param: str
    label: str  # the option as shown: --no-store, --format
    value: Any = ...  # one side of a flag pair, else ... (every spelling)
    tests: list[str] = field(default_factory=list)
    status: str = ""
    hits: int = 0
    seconds: float = 0.0
    detail: str = ""

    @property
    def command(self) -> str:
        return " ".join(self.path) or "(root)"

    def spec(self) -> str:
        spec: dict[str, Any] = {"path": list(self.path), "param": self.param}
        if self.value is not ...:
            spec["value"] = self.value
        return json.dumps(spec)


def mutants() -> Iterator[Mutant]:
    for path, command in _all_commands():
        for param in command.params:
            if param.param_type_name != "option" or param.name == "help" or param.required:
                continue
            tests = users(path, param)
            if getattr(param, "is_bool_flag", False) and param.secondary_opts:
                sides = [(True, param.opts), (False, param.secondary_opts)]
                for value, opts in sides:
                    mutant = Mutant(path, param.name, max(opts, key=len), value, tests)
                    if bool(param.default) == value:
                        mutant.status = "equivalent"
                        mutant.detail = f"{mutant.label} is the default"
                    yield mutant
            else:
                yield Mutant(path, param.name, max(param.opts, key=len), ..., tests)


def _all_commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group (the root's --debug, a group's own options), then the
    leaves the coverage test walks."""
    import typer

    from postpilot.cli import app

    def groups(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if hasattr(command, "commands"):
            yield path, command
            for name, sub in command.commands.items():
                yield from groups(sub, (*path, name))

    yield from groups(typer.main.get_command(app), ())
    yield from commands()


def run(mutant: Mutant, pytest_args: list[str], timeout: float = TIMEOUT) -> Mutant:
    if mutant.status:
        return mutant
    if (mutant.command, mutant.label) in ALLOWED:
        mutant.status, mutant.detail = "allowed", ALLOWED[(mutant.command, mutant.label)]
        return mutant
    if not mutant.tests:
        mutant.status, mutant.detail = "error", "no test uses the option"
        return mutant
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        log = Path(tmp) / "hits"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOK), os.environ.get("PYTHONPATH")])),
            "MUTATE_OPTION": mutant.spec(),
            "MUTATE_OPTION_LOG": str(log),
        }
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        started = time.monotonic()
        # its own process group: a timeout stops the servers the tests started as well
        with subprocess.Popen(
            [*command, *pytest_args, *mutant.tests],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                mutant.seconds = time.monotonic() - started
                mutant.status = "timeout"
                mutant.detail = f"pytest still running after {timeout:g} s"
                return mutant
        mutant.seconds = time.monotonic() - started
        mutant.hits = len(log.read_text().splitlines()) if log.exists() else 0
    returncode = process.returncode
    lines = stdout.strip().splitlines()
    summary = lines[-1] if lines else stderr.strip()[-200:]
    failed = [line.split(" ", 1)[1] for line in lines if line.startswith(("FAILED ", "ERROR "))]
    if returncode == 1 and mutant.hits:
        mutant.status, mutant.detail = "killed", (failed[0] if failed else summary)
    elif returncode == 0:
        mutant.status = "SURVIVED" if mutant.hits else "UNUSED"
        mutant.detail = summary
    else:
        mutant.status = "error"
        why = "fails unmutated" if returncode == 1 else f"pytest exit {returncode}"
        mutant.detail = f"{why}: {failed[0] if failed else summary}"
    return mutant


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help='a command path, or a path and an option: "contract infer", "drift --test" '
        "(repeatable)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="pytest runs at a time (default 1)")
    parser.add_argument("-m", dest="marker", help='pytest -m expression, e.g. "not postgres"')
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help=f"seconds one pytest run may take (default {TIMEOUT})",
    )
    parser.add_argument("--list", action="store_true", help="list mutants and tests, run nothing")
    args = parser.parse_args(argv)

    todo = [m for m in mutants() if _selected(m, args.only)]
    if not todo:
        parser.error(f"no option matches {args.only}")
    if args.list:
        for m in todo:
            print(f"{m.command} {m.label}: {len(m.tests)} tests {m.status}")
            for test in m.tests:
                print(f"    {test}")
        return 0
    pytest_args = ["-m", args.marker] if args.marker else []
    started = time.monotonic()
    print(f"{'status':<10} {'command':<24} {'option':<26} {'tests':>5} {'hits':>5} {'secs':>6}")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for m in pool.map(lambda m: run(m, pytest_args, args.timeout), todo):
            print(
                f"{m.status:<10} {m.command:<24} {m.label:<26} {len(m.tests):>5} {m.hits:>5} "
                f"{m.seconds:>6.1f}  {m.detail}",
                flush=True,
            )
    elapsed = time.monotonic() - started
    counts = Counter(m.status for m in todo)
    print()
    print(
        f"{len(todo)} mutants in {elapsed / 60:.1f} min"
        + (f" (pytest -m {args.marker!r})" if args.marker else "")
        + ": "
        + ", ".join(f"{counts[s]} {s}" for s in _ORDER if counts[s])
    )
    bad = [m for m in todo if m.status in ("SURVIVED", "UNUSED", "timeout", "error")]
    for m in bad:
        print(f"  {m.status} {m.command} {m.label}: {m.detail}")
    return 1 if bad else 0


_ORDER = ("killed", "SURVIVED", "UNUSED", "timeout", "error", "allowed", "equivalent")


def _selected(mutant: Mutant, only: list[str]) -> bool:
    if not only:
        return True
    for text in only:
        words = text.split()
        path = tuple(w for w in words if not w.startswith("-"))
        options = [w for w in words if w.startswith("-")]
        if mutant.path == path and (not options or mutant.label in options):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
