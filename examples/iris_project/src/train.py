"""Fit the model on data/prepared/train.csv with params.yaml's train section."""

from pathlib import Path

import joblib
import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    params = yaml.safe_load(Path("params.yaml").read_text())["train"]
    data = np.loadtxt("data/prepared/train.csv", delimiter=",")
    model = make_pipeline(StandardScaler(),
                          LogisticRegression(C=params["C"], max_iter=params["max_iter"]))
    model.fit(data[:, :-1], data[:, -1].astype(int))
    model.class_names_ = Path("data/prepared/classes.txt").read_text().split()
    Path("models").mkdir(exist_ok=True)
    joblib.dump(model, "models/model.joblib")


if __name__ == "__main__":
    main()
