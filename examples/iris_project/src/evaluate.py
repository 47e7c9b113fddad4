"""Score the model on data/prepared/test.csv; write metrics.json."""

import json
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


if __name__ == "__main__":
    main()
