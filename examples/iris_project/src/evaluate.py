"""Score the chosen model on data/prepared/test.csv; write metrics.json.

When the model was tracked (it carries its MLflow run's id) and MLFLOW_TRACKING_URI is set,
the test metrics are logged to that run too.
"""

import json
import os
from pathlib import Path

import joblib
import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def main():
    data = np.loadtxt("data/prepared/test.csv", delimiter=",")
    model = joblib.load("models/model.joblib")
    predicted = model.predict(data[:, :-1])
    truth = data[:, -1].astype(int)
    metrics = {"accuracy": round(float(accuracy_score(truth, predicted)), 4),
               "f1_macro": round(float(f1_score(truth, predicted, average="macro")), 4)}
    Path("metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    run_id = getattr(model, "mlflow_run_id_", None)
    if run_id and os.environ.get("MLFLOW_TRACKING_URI"):
        import mlflow  # only needed when tracking

        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics({f"test_{name}": value for name, value in metrics.items()})


if __name__ == "__main__":
    main()
