"""The mutation scripts/mutate_options.py applies: one CLI option parsed but ignored.

This directory goes first on ``PYTHONPATH``, so every Python process started with it
(pytest, and the ``postpilot`` processes the tests start) imports this module at
startup. With ``MUTATE_OPTION`` unset it does nothing. With it set to JSON
``{"path": ["contract", "infer"], "param": "store", "value": false}`` it breaks that
option's wiring when click is imported: the option is parsed as usual, then its value
is dropped from what the parser collected, so the command gets what it gets when the
option is not given (its environment variable, else its default: ``None``, ``()``,
``False``, a flag pair's default). ``"value"`` limits the mutation to one side of a
flag pair (``false`` is ``--no-store``); leave it out to ignore every spelling.

Each time the mutation drops a value it appends a line to ``MUTATE_OPTION_LOG``, so
the tool can tell a surviving mutant (the option was passed, and ignored, and no test
noticed) from a test run that never passed the option.

The variables are not named ``POSTPILOT_*``: tests/conftest.py clears those, and the
``postpilot`` processes a test starts must inherit them to be mutated too.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

_SPEC = os.environ.get("MUTATE_OPTION")
_LOG = os.environ.get("MUTATE_OPTION_LOG")
_TARGETS = ("typer._click.core", "click.core")


def _command_path(ctx: Any) -> tuple[str, ...]:
    """The command's words below the program name: ``("contract", "infer")``."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return tuple(reversed(names))


def _patch(module: ModuleType, spec: Mapping[str, Any]) -> None:
    path = tuple(spec["path"])
    name = spec["param"]
    only = spec.get("value", ...)
    original = module.Parameter.handle_parse_result

    def handle_parse_result(
        self: Any, ctx: Any, opts: Mapping[str, Any], args: Sequence[str]
    ) -> Any:
        if (
            self.name == name
            and opts.get(name) is not None
            and (only is ... or opts[name] == only)
            and _command_path(ctx) == path
        ):
            opts = {k: v for k, v in opts.items() if k != name}
            if _LOG:
                with open(_LOG, "a", encoding="utf-8") as log:
                    log.write(f"{os.getpid()} {' '.join(path)} {name}\n")
        return original(self, ctx, opts, args)

    module.Parameter.handle_parse_result = handle_parse_result


class _Finder(importlib.abc.MetaPathFinder):
    """Patches click's ``Parameter`` right after click's core module is executed."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _TARGETS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        def patched_exec(module: ModuleType) -> None:
            exec_module(module)
            _patch(module, json.loads(_SPEC or "{}"))

        loader.exec_module = patched_exec  # type: ignore[method-assign]
        return spec


if _SPEC:
    for _name in _TARGETS:
        if _name in sys.modules:  # pragma: no cover - sitecustomize runs first
            _patch(sys.modules[_name], json.loads(_SPEC))
    sys.meta_path.insert(0, _Finder())
