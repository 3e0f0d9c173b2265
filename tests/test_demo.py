from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from postpilot.demo import DemoResult, demo_in_tempdir
from tests.helpers import Run

Story = tuple[DemoResult, list[str]]


@pytest.fixture(scope="module")
def story() -> Story:
    """One replay of the demo, shared by the tests that read it (it takes seconds)."""
    lines: list[str] = []
    return demo_in_tempdir(lines.append), lines


def test_demo_replays_the_story(story: Story) -> None:
    result, lines = story
    assert len(result.refused) == 4
    assert any("without a named owner" in r for r in result.refused)
    assert any("is a team" in r for r in result.refused)
    assert any("exactly one person" in r for r in result.refused)
    assert sorted(result.orphaned) == ["revenue-forecast:monitoring_lead", "revenue-forecast:owner"]
    assert result.tamper_detected_at is not None
    assert {
        "likely_rename:amount",
        "likely_rename:win_likelihood",
        "unit_change:amount",
        "new_category:stage",
    } <= set(result.contract_findings)
    assert any("week 1: passes" in line for line in lines)
    assert any("maya@acme.example -> ana@acme.example" in line for line in lines)


def test_demo_keeps_its_store_only_in_a_new_folder(cli: Run, tmp_path: Path) -> None:
    home = tmp_path / "demo"
    out = cli("demo", "--home", str(home)).stdout
    assert "tampering detected at event #" in out
    assert (home / "postpilot.db").is_file()
    result = cli("demo", "--home", str(home), expect=2)
    assert "is not empty" in result.stderr


def test_console_script_runs_the_demo_and_maps_errors(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("postpilot")
    env = {k: v for k, v in os.environ.items() if k != "POSTPILOT_HOME"}
    done = subprocess.run(
        [str(exe), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "unsafe changes refused" in done.stdout
    failed = subprocess.run(
        [str(exe), "product", "create", "churn", "--stage", "pilot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: ")
    assert "(--owner)" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / ".postpilot"]


def test_the_demo_monitor_opens_an_incident_on_the_migrated_batch_and_escalates(
    story: Story,
) -> None:
    result, lines = story
    assert result.incident == 1
    text = "\n".join(lines)
    assert "week 1: 1 batch checked, 0 rule(s) fired" in text
    assert "opened incident #1 (high) for maya@acme.example" in text
    assert "schema-errors: notified ines@acme.example (data_steward)" in text
    assert "escalated to sam@acme.example (integration_lead)" in text


def test_the_demo_gateway_refuses_the_migrated_record_until_the_adapter_fixes_it(
    story: Story,
) -> None:
    result, lines = story
    assert result.gateway == {
        "no key": 401,
        "served": 200,
        "migrated": 422,
        "adapted": 200,
        "fallback": 200,
        "revoked": 401,
    }
    assert {"amount", "amount_usd", "close_probability", "win_likelihood"} <= set(
        result.gateway_refused_fields
    )
    text = "\n".join(lines)
    assert "rename amount -> amount_usd, win_likelihood -> close_probability" in text
    assert "served_by=fallback" in text
