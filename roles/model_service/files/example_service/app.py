"""The model service: a scikit-learn classifier behind a small JSON API (FastAPI, ASGI).

    GET  /          status text
    POST /predict   [5.1, 3.5, 1.4, 0.2]            -> {"prediction": 0, "class": "setosa"}
                    {"data": [[5.1, 3.5, 1.4, 0.2]]} -> {"result": [0], "classes": ["setosa"]}
    GET  /health    model version (the source revision, the MLflow run when tracked), readiness
    GET  /metrics   Prometheus metrics: requests, latency, predictions by class

Bad input gets a 4xx JSON error naming the problem, never a 500. Configuration comes from
the environment: MODEL_PATH (default model.joblib), MODEL_REVISION (the source revision the
image was built from), MAX_BATCH_ROWS (default 1000), MAX_BODY_BYTES (default 65536).
Run it with gunicorn and uvicorn's worker (`gunicorn -k uvicorn_worker.UvicornWorker
app:app`, as role model_service does), or `uvicorn app:app` while developing.

Per request the service does what it needs and no more: orjson parses the body, each row
is checked here, and predict runs on the event loop (well under a millisecond even for a
full batch; a thread hop would cost more than it saves). scikit-learn's `predict` spends
about 70 us on one row, mostly checking its input again: for standard scalers followed by
a linear classifier (the example's model) the service computes the same arithmetic in
numpy (about 3 us), and uses it only after it gave the model's own predictions on 4000
rows at start-up. Any other model is called as it is. /health names the path ("linear" or
"estimator").
"""

import hashlib
import math
import os
import time

import joblib
import numpy as np
import orjson
import sklearn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, generate_latest, multiprocess)
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from starlette.exceptions import HTTPException

MODEL_PATH = os.environ.get("MODEL_PATH", "model.joblib")
MODEL_REVISION = os.environ.get("MODEL_REVISION", "unknown")
MAX_BATCH_ROWS = int(os.environ.get("MAX_BATCH_ROWS", "1000"))
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", "65536"))
ENDPOINTS = ("/", "/predict", "/health", "/metrics")

REQUESTS = Counter("model_requests_total", "HTTP requests", ["endpoint", "status"])
LATENCY = Histogram("model_request_seconds", "Request latency", ["endpoint"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
PREDICTIONS = Counter("model_predictions_total", "Predictions by class", ["class"])


def _load_model(path):
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    return joblib.load(path), digest


def _linear_predictor(model):
    """For standard scalers followed by a linear classifier (the example's model): predict
    with scikit-learn's own arithmetic in numpy, without its per-call checks. None for
    any other model."""
    steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else [model]
    *scalers, final = steps
    if any(type(step) is not StandardScaler for step in scalers):
        return None
    if not (isinstance(final, LinearClassifierMixin) and isinstance(final.coef_, np.ndarray)
            and type(final).predict is LinearClassifierMixin.predict
            and type(final).decision_function is LinearClassifierMixin.decision_function):
        return None
    shifts = [(s.mean_ if s.with_mean else None, s.scale_ if s.with_std else None) for s in scalers]
    coef, intercept, classes = final.coef_, final.intercept_, final.classes_

    def predict(rows):
        X = np.array(rows, dtype=np.float64)
        for mean, scale in shifts:
            if mean is not None:
                X -= mean
            if scale is not None:
                X /= scale
        scores = X @ coef.T + intercept
        indices = (scores[:, 0] > 0).astype(np.intp) if scores.shape[1] == 1 else scores.argmax(axis=1)
        return classes.take(indices)

    return predict


def _agrees(model, predictor, n_features):
    """Whether predictor gives the model's own predictions on 4000 seeded rows, spread
    around the training data where a scaler knows it, over several magnitudes otherwise."""
    scaler = model.steps[0][1] if isinstance(model, Pipeline) and model.steps[:-1] else None
    centre = scaler.mean_ if scaler is not None and scaler.with_mean else np.zeros(n_features)
    spread = scaler.scale_ if scaler is not None and scaler.with_std else np.ones(n_features)
    rng = np.random.default_rng(0)
    rows = np.vstack([centre + spread * magnitude * rng.standard_normal((1000, n_features))
                      for magnitude in (0.3, 1, 3, 100)])
    with sklearn.config_context(assume_finite=True):
        return np.array_equal(predictor(rows.tolist()), model.predict(rows))


MODEL, MODEL_SHA256 = _load_model(MODEL_PATH)
N_FEATURES = int(MODEL.n_features_in_)
FAST_PREDICT = _linear_predictor(MODEL)
if FAST_PREDICT is not None and not _agrees(MODEL, FAST_PREDICT, N_FEATURES):
    FAST_PREDICT = None
PREDICTOR = "linear" if FAST_PREDICT is not None else "estimator"
CLASS_NAMES = list(getattr(MODEL, "class_names_", [str(c) for c in MODEL.classes_]))
# The MLflow run that trained it, when the training was tracked (the ML project's train.py).
MLFLOW_RUN_ID = getattr(MODEL, "mlflow_run_id_", None)
PREDICTED = {name: PREDICTIONS.labels(name) for name in CLASS_NAMES}


class JSON(Response):
    """A JSON response rendered by orjson."""

    media_type = "application/json"

    def render(self, content):
        return orjson.dumps(content, option=orjson.OPT_APPEND_NEWLINE)


def _error(status, message):
    return JSON({"error": message}, status_code=status)


class BadInput(Exception):
    """The request body cannot be used; the message names the problem."""


class TooLarge(Exception):
    """The request body is larger than MAX_BODY_BYTES."""


def _check_row(row, where):
    if not isinstance(row, list):
        raise BadInput(f"{where} must be a list of {N_FEATURES} numbers")
    if len(row) != N_FEATURES:
        raise BadInput(f"{where} has {len(row)} features, the model expects {N_FEATURES}")
    for i, value in enumerate(row):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadInput(f"{where}[{i}] is not a finite number: {value!r}")
    return row


def _parse_rows(payload):
    """([rows], batch?) from a single row or {"data": [rows]}."""
    if isinstance(payload, list):
        return [_check_row(payload, "row")], False
    if isinstance(payload, dict) and "data" in payload:
        rows = payload["data"]
        if not isinstance(rows, list) or not rows:
            raise BadInput("data must be a non-empty list of rows")
        if len(rows) > MAX_BATCH_ROWS:
            raise BadInput(f"data has {len(rows)} rows, at most {MAX_BATCH_ROWS} are accepted")
        return [_check_row(row, f"data[{i}]") for i, row in enumerate(rows)], True
    raise BadInput('expected a list of numbers or {"data": [[numbers], ...]}')


async def _read_body(request):
    """The body, refused as soon as it is known to be larger than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise TooLarge()
    return body


def _predict(rows):
    if FAST_PREDICT is not None:
        return [int(p) for p in FAST_PREDICT(rows)]
    # The rows were checked above (shape, finite numbers): scikit-learn need not check again.
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        return [int(p) for p in MODEL.predict(rows)]


app = FastAPI(title="model service", openapi_url=None, docs_url=None, redoc_url=None)


@app.exception_handler(HTTPException)
async def _http_error(_request, exc):
    return _error(exc.status_code, exc.detail)


@app.exception_handler(BadInput)
async def _bad_input(_request, exc):
    return _error(400, str(exc))


@app.exception_handler(TooLarge)
async def _too_large(_request, _exc):
    return _error(413, f"request body larger than {MAX_BODY_BYTES} bytes")


@app.exception_handler(Exception)
async def _unexpected(_request, _exc):  # a bug, not the client's fault: logged by the server
    return _error(500, "internal error")


@app.get("/")
async def index():
    return Response(f"model service: ready, revision {MODEL_REVISION}\n", media_type="text/plain")


@app.post("/predict")
async def predict(request: Request):
    try:
        payload = orjson.loads(await _read_body(request))
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"the request body is not valid JSON: {exc}") from None
    rows, batch = _parse_rows(payload)
    predicted = _predict(rows)
    for p in predicted:
        PREDICTED[CLASS_NAMES[p]].inc()
    if batch:
        return JSON({"result": predicted, "classes": [CLASS_NAMES[p] for p in predicted]})
    return JSON({"prediction": predicted[0], "class": CLASS_NAMES[predicted[0]]})


@app.get("/health")
async def health():
    return JSON({"ready": True, "revision": MODEL_REVISION, "model_sha256": MODEL_SHA256,
                 "mlflow_run_id": MLFLOW_RUN_ID, "features": N_FEATURES, "classes": CLASS_NAMES,
                 "predictor": PREDICTOR})


@app.get("/metrics")
async def metrics():
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several gunicorn workers
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class Observe:
    """ASGI middleware: latency and status of every HTTP request, by endpoint."""

    def __init__(self, app):
        self.inner = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        start = time.perf_counter()
        endpoint = scope["path"] if scope["path"] in ENDPOINTS else "unmatched"
        status = 500

        async def send_observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.inner(scope, receive, send_observed)
        finally:
            LATENCY.labels(endpoint).observe(time.perf_counter() - start)
            REQUESTS.labels(endpoint, str(status)).inc()


app.add_middleware(Observe)
