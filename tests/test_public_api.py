"""``import postpilot`` gives a curated API, and importing it does nothing else."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import postpilot
import postpilot.errors


def test_all_names_exist_once() -> None:
    for name in postpilot.__all__:
        assert hasattr(postpilot, name), name
    assert len(set(postpilot.__all__)) == len(postpilot.__all__)


def test_every_error_is_exported_and_documented() -> None:
    errors = {
        name
        for name, obj in vars(postpilot.errors).items()
        if inspect.isclass(obj) and issubclass(obj, postpilot.PostpilotError)
    }
    assert errors <= set(postpilot.__all__)
    assert errors == set(postpilot.errors.__all__)
    doc = postpilot.errors.__doc__ or ""
    for name in errors:
        assert name in doc, f"{name} missing from the hierarchy in errors.py's docstring"


def test_errors_inherit_the_matching_builtin() -> None:
    assert issubclass(postpilot.InputError, ValueError)
    assert issubclass(postpilot.NotFoundError, LookupError)
    assert issubclass(postpilot.MissingExtraError, ImportError)


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    code = (
        "import logging, postpilot; "
        "assert not logging.getLogger().handlers; "
        "assert any(isinstance(h, logging.NullHandler) "
        "for h in logging.getLogger('postpilot').handlers)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    assert list(tmp_path.iterdir()) == []


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert postpilot.__version__ == version("postpilot")


def test_the_policies_api_names_exist_once() -> None:
    import postpilot.policies as policies

    for name in policies.__all__:
        assert hasattr(policies, name), name
    assert len(set(policies.__all__)) == len(policies.__all__)
