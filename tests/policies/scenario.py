"""The replayed scenario of issue 11: 30 daily batches in a Parquet folder, the inputs
drift from day 10; a product with an owner and a monitoring lead; a policy that
notifies the owner through a signed webhook, opens an incident and escalates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from postpilot import Registry

START = datetime(2026, 3, 1, tzinfo=UTC)
DRIFT_FROM = 10  # day 10 (1-based) is the first drifted batch
DAYS = 30
SECRET = "s3cret-for-tests"


def batch(day: int, rows: int = 400, *, drifted: bool = False, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(1000 * seed + day)
    shift = 2.5 if drifted else 0.0
    start = START + timedelta(days=day - 1)
    return pl.DataFrame(
        {
            "scored_at": [start + timedelta(seconds=int(s)) for s in rng.integers(0, 86_000, rows)],
            "amount": rng.lognormal(4.0 + shift * 0.4, 0.5, rows),
            "tenure": rng.normal(24 + 10 * shift, 6, rows),
            "visits": rng.poisson(3 + shift, rows).astype(np.int64),
            "region": rng.choice(["north", "south", "east", "west"], rows).tolist(),
        }
    )


def write_training(folder: Path) -> Path:
    path = folder / "training.parquet"
    pl.concat([batch(-d, 500, seed=7) for d in range(10)]).write_parquet(path)
    return path


def write_day(folder: Path, day: int) -> Path:
    path = folder / "batches" / f"day{day}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    batch(day, drifted=day >= DRIFT_FROM).write_parquet(path)
    return path


def day_end(day: int) -> datetime:
    """When the daily pass runs after batch ``day`` arrived: the next morning, 06:00."""
    return START + timedelta(days=day, hours=6)


POLICY = """\
schema_version: 1
product: churn
source:
  path: batches/*.parquet
  timestamp: scored_at
channels:
  ops:
    type: webhook
    url: {url}
    secret_env: OPS_SECRET
    allow_private: true
rules:
  - name: inputs-drifted
    when: {{metric: drift.share, threshold: 0.5}}
    then:
      - notify: {{to: owner, via: [ops]}}
      - open_incident: {{severity: high}}
      - escalate: {{to: monitoring_lead, after: 1d, via: [ops]}}
"""


def setup_product(reg: Registry, folder: Path) -> None:
    reg.add_person("maya@example.com", name="Maya Chen")
    reg.add_person("ana@example.com", name="Ana Ruiz")
    reg.add_person("lee@example.com", name="Lee Park")
    reg.create_product("churn", stage="pilot", owner="maya@example.com")
    reg.assign_role("churn", "monitoring_lead", "lee@example.com")
    reg.register_model(
        "churn",
        artifact="models/churn.joblib",
        flavor="sklearn",
        training_data=str(write_training(folder)),
    )


def write_policy(folder: Path, url: str) -> Path:
    path = folder / "policy.yaml"
    path.write_text(POLICY.format(url=url), encoding="utf-8")
    return path


class Receiver:
    """A real webhook receiver on 127.0.0.1: keeps every request; answers 503 to the
    first ``fail_first`` requests (a receiver that is down, then comes back)."""

    def __init__(self, fail_first: int = 0) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.failures = 0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.failures < receiver.fail_first:
                    receiver.failures += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def payloads(self) -> list[dict[str, object]]:
        import json

        return [json.loads(body) for _, body in self.requests]
