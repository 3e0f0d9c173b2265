"""Real peers for the backend tests: functions joblib can pickle, and a model server.

joblib pickles functions by reference (module and name), so the functions saved
as models live here, in an importable module. ``ModelServer`` runs a small
Starlette app with uvicorn in a background thread on a free port of 127.0.0.1:
a remote model for the ``http`` backend that needs a token in the query string
and in the Authorization header, plus endpoints that misbehave on purpose.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

FIELDS = ("island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex")
CODE = "query-s3cret-code"
TOKEN = "Bearer header-s3cret-token"
TOKEN_ENV = "POSTPILOT_TEST_MODEL_TOKEN"


def bill_ratio(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A penguin's bill length over its depth: a plain function served as a model."""
    return [
        {"prediction": round(record["bill_length_mm"] / record["bill_depth_mm"], 6)}
        for record in records
    ]


def bare_ratios(records: list[dict[str, Any]]) -> list[float]:
    """The same, as plain values (the backend wraps them)."""
    return [item["prediction"] for item in bill_ratio(records)]


def one_short(records: list[dict[str, Any]]) -> list[float]:
    """A broken model: one output fewer than records."""
    return bare_ratios(records)[:-1]


def not_a_list(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A broken model: a dict instead of a list."""
    return {"predictions": bare_ratios(records)}


def no_prediction_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A broken model: dicts without "prediction"."""
    return [{"score": value} for value in bare_ratios(records)]


RELEASE = threading.Event()
"""Set by a test's coroutine while ``waits_for_release`` runs in a worker thread."""


def waits_for_release(records: list[dict[str, Any]]) -> list[bool]:
    """Whether the event loop could set RELEASE while this model ran (it cannot if blocked)."""
    released = RELEASE.wait(5)
    return [released for _ in records]


def numpy_answers(records: list[dict[str, Any]]) -> Any:
    """numpy values, a NaN among them: the backend makes them JSON."""
    import numpy as np

    values = np.array(bare_ratios(records))
    values[0] = np.nan
    return values


def raises(records: list[dict[str, Any]]) -> list[Any]:
    """A broken model: fails on every call."""
    raise RuntimeError("the model fell over")


def _authorised(request: Request) -> bool:
    return (
        request.query_params.get("code") == CODE and request.headers.get("authorization") == TOKEN
    )


async def _penguins(request: Request) -> Response:
    if not _authorised(request):
        return JSONResponse({"detail": "unauthorised"}, status_code=401)
    body = await request.json()
    for record in body["records"]:
        missing = [name for name in FIELDS if name not in record]
        if missing:
            return JSONResponse({"detail": f"missing field(s) {missing}"}, status_code=422)
    try:
        outputs = bill_ratio(body["records"])
    except KeyError as exc:
        return JSONResponse({"detail": f"missing field {exc.args[0]}"}, status_code=422)
    except (TypeError, ValueError) as exc:
        return JSONResponse({"detail": f"bad value: {exc}"}, status_code=422)
    return JSONResponse({"predictions": outputs})


async def _status(request: Request) -> Response:
    code = int(request.path_params["code"])
    # a careless server echoes the whole URL, query string included
    return JSONResponse({"detail": f"failed for {request.url}"}, status_code=code)


async def _slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("delay", "2")))
    body = await request.json()
    return JSONResponse({"predictions": bare_ratios(body["records"])})


async def _instances(request: Request) -> Response:
    body = await request.json()
    return JSONResponse({"data": {"outputs": bare_ratios(body["instances"])}})


async def _bare(request: Request) -> Response:
    return JSONResponse(bare_ratios(await request.json()))


async def _one(request: Request) -> Response:
    body = await request.json()
    if not isinstance(body.get("features"), dict):
        return JSONResponse({"detail": "one record per call"}, status_code=400)
    missing = [name for name in FIELDS if name not in body["features"]]
    if missing:
        return JSONResponse({"detail": f"missing field(s) {missing}"}, status_code=422)
    return JSONResponse({"result": bill_ratio([body["features"]])[0]})


async def _headers(request: Request) -> Response:
    body = await request.json()
    seen = {"key": request.headers.get("x-api-key"), "agent": request.headers.get("user-agent")}
    return JSONResponse({"predictions": [seen for _ in body["records"]]})


async def _short(request: Request) -> Response:
    body = await request.json()
    return JSONResponse({"predictions": bare_ratios(body["records"])[:-1]})


async def _not_json(request: Request) -> Response:
    return PlainTextResponse("<html>proxy error</html>")


async def _redirect(request: Request) -> Response:
    return RedirectResponse("/penguins", status_code=307)


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/penguins", _penguins, methods=["POST"]),
            Route("/status/{code:int}", _status, methods=["POST"]),
            Route("/slow", _slow, methods=["POST"]),
            Route("/instances", _instances, methods=["POST"]),
            Route("/bare", _bare, methods=["POST"]),
            Route("/one", _one, methods=["POST"]),
            Route("/headers", _headers, methods=["POST"]),
            Route("/short", _short, methods=["POST"]),
            Route("/not-json", _not_json, methods=["POST"]),
            Route("/redirect", _redirect, methods=["POST"]),
        ]
    )


class ModelServer:
    """The Starlette app above, served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            app(),
            log_level="error",
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def url(self, path: str, **query: str) -> str:
        text = "&".join(f"{name}={value}" for name, value in query.items())
        return f"http://127.0.0.1:{self.port}{path}" + (f"?{text}" if text else "")

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the model server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()
