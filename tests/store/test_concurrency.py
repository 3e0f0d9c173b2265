"""Two processes writing at once: they wait for each other instead of failing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postpilot import Registry

WRITER = """
import os, sys, time
from pathlib import Path
from postpilot import Registry

prefix, count, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
reg = Registry()          # the default store, from POSTPILOT_HOME / POSTPILOT_DATABASE_URL
for i in range(count):
    reg.create_product(f"{prefix}-{i:04d}", name=f"product {i} of {prefix}")
reg.close()
"""


def run_writers(env: dict[str, str], tmp_path: Path, count: int) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, prefix, str(count), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("alpha", "beta")
    ]
    time.sleep(0.5)  # both interpreters are up and waiting on the same store
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "database is locked" not in err


def check_store(url: str, count: int) -> None:
    with Registry(url, actor="checker") as reg:
        products = reg.products()
        assert len(products) == 2 * count
        assert {p.slug.split("-")[0] for p in products} == {"alpha", "beta"}
        check = reg.verify_audit()
        assert check.ok, check.problem
        assert check.events == 2 * count


@pytest.mark.slow
def test_two_processes_create_200_products_each_on_the_sqlite_default(tmp_path: Path) -> None:
    home = tmp_path / "home"  # does not exist yet: both processes also race to create it
    env = {**os.environ, "POSTPILOT_HOME": str(home), "POSTPILOT_USER": "writer"}
    env.pop("POSTPILOT_DATABASE_URL", None)
    run_writers(env, tmp_path, 200)
    check_store(f"sqlite:///{home / 'postpilot.db'}", 200)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_on_postgresql_keep_one_chain(postgres_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "POSTPILOT_DATABASE_URL": postgres_url, "POSTPILOT_USER": "writer"}
    run_writers(env, tmp_path, 60)
    check_store(postgres_url, 60)
