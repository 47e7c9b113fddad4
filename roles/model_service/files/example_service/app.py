"""The model service: a scikit-learn classifier behind a small JSON API.

    GET  /          status text
    POST /predict   [5.1, 3.5, 1.4, 0.2]            -> {"prediction": 0, "class": "setosa"}
                    {"data": [[5.1, 3.5, 1.4, 0.2]]} -> {"result": [0], "classes": ["setosa"]}
    GET  /health    model version and readiness
    GET  /metrics   Prometheus metrics: requests, latency, predictions by class

Bad input gets a 4xx JSON error naming the problem, never a 500. Configuration comes from
the environment: MODEL_PATH (default model.joblib), MODEL_REVISION (the source revision the
image was built from), MAX_BATCH_ROWS (default 1000), MAX_BODY_BYTES (default 65536).
Run it with gunicorn (`gunicorn app:app`); `python app.py` starts Flask's development server.
"""

import hashlib
import math
import os
import time

import joblib
from flask import Flask, Response, jsonify, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from werkzeug.exceptions import HTTPException

MODEL_PATH = os.environ.get("MODEL_PATH", "model.joblib")
MODEL_REVISION = os.environ.get("MODEL_REVISION", "unknown")
MAX_BATCH_ROWS = int(os.environ.get("MAX_BATCH_ROWS", "1000"))

REQUESTS = Counter("model_requests_total", "HTTP requests", ["endpoint", "status"])
LATENCY = Histogram("model_request_seconds", "Request latency", ["endpoint"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
PREDICTIONS = Counter("model_predictions_total", "Predictions by class", ["class"])


def _load_model(path):
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    return joblib.load(path), digest


MODEL, MODEL_SHA256 = _load_model(MODEL_PATH)
N_FEATURES = int(MODEL.n_features_in_)
CLASS_NAMES = list(getattr(MODEL, "class_names_", [str(c) for c in MODEL.classes_]))

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = int(os.environ.get("MAX_BODY_BYTES", "65536"))


class BadInput(Exception):
    """The request body cannot be used; the message names the problem."""


def _error(status, message):
    return jsonify(error=message), status


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


@app.before_request
def _start_timer():
    request.environ["mlp.start"] = time.perf_counter()


@app.after_request
def _observe(response):
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    LATENCY.labels(endpoint).observe(time.perf_counter() - request.environ["mlp.start"])
    REQUESTS.labels(endpoint, str(response.status_code)).inc()
    return response


@app.errorhandler(HTTPException)
def _http_error(exc):
    if exc.code == 413:
        return _error(413, f"request body larger than {app.config['MAX_CONTENT_LENGTH']} bytes")
    return _error(exc.code, exc.description)


@app.errorhandler(Exception)
def _unexpected(exc):  # a bug, not the client's fault: logged, answered in JSON
    app.logger.exception("unexpected error: %s", exc)
    return _error(500, "internal error")


@app.errorhandler(BadInput)
def _bad_input(exc):
    return _error(400, str(exc))


@app.get("/")
def index():
    return f"model service: ready, revision {MODEL_REVISION}\n", 200, {"Content-Type": "text/plain"}


@app.post("/predict")
def predict():
    payload = request.get_json(force=True, silent=True)
    if payload is None:
        raise BadInput("the request body is not valid JSON")
    rows, batch = _parse_rows(payload)
    predicted = [int(p) for p in MODEL.predict(rows)]
    for p in predicted:
        PREDICTIONS.labels(CLASS_NAMES[p]).inc()
    if batch:
        return jsonify(result=predicted, classes=[CLASS_NAMES[p] for p in predicted])
    return jsonify(prediction=predicted[0], **{"class": CLASS_NAMES[predicted[0]]})


@app.get("/health")
def health():
    return jsonify(ready=True, revision=MODEL_REVISION, model_sha256=MODEL_SHA256,
                   features=N_FEATURES, classes=CLASS_NAMES)


@app.get("/metrics")
def metrics():
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several gunicorn workers
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry  # pylint: disable=import-outside-toplevel
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
