"""Choose and fit the model: the grid of params.yaml's train section, scored by
cross-validation on data/prepared/train.csv; the best is refitted and saved.

Writes models/model.joblib (the fitted pipeline, carrying its classes' names and, when
tracked, its MLflow run's id) and models/selection.json (every candidate's score). With
MLFLOW_TRACKING_URI set, each candidate is an MLflow run (parameters, the cross-validated
score, the git revision and the data's hash as tags) and the chosen one also logs the model
and registers it as a new version of MLFLOW_REGISTERED_MODEL (default: iris). Without it,
nothing is tracked and the result is the same.
"""

import hashlib
import itertools
import json
import os
import subprocess
from pathlib import Path

import joblib
import numpy as np
import sklearn
import yaml
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

MODELS = {
    "logistic_regression": lambda seed, **p: make_pipeline(StandardScaler(), LogisticRegression(**p)),
    "decision_tree": lambda seed, **p: DecisionTreeClassifier(random_state=seed, **p),
    "random_forest": lambda seed, **p: RandomForestClassifier(random_state=seed, **p),
    "gradient_boosting": lambda seed, **p: GradientBoostingClassifier(random_state=seed, **p),
}


def candidates(models):
    """(model name, parameters) for every combination of every model's grid, in file order."""
    for name, grid in models.items():
        if name not in MODELS:
            raise SystemExit(f"params.yaml: train.models.{name}: unknown model (known: {', '.join(MODELS)})")
        keys = list(grid)
        for values in itertools.product(*(grid[key] if isinstance(grid[key], list) else [grid[key]] for key in keys)):
            yield name, dict(zip(keys, values))


def data_hash(directory):
    digest = hashlib.md5()
    for path in sorted(Path(directory).iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def git_revision():
    result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


class Tracker:
    """MLflow when MLFLOW_TRACKING_URI is set; otherwise does nothing."""

    def __init__(self, experiment, tags):
        self.mlflow = None
        self.tags = tags
        if os.environ.get("MLFLOW_TRACKING_URI"):
            import mlflow  # only needed when tracking

            self.mlflow = mlflow
            mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", experiment))

    def candidate(self, name, params, metric, score):
        if not self.mlflow:
            return None
        with self.mlflow.start_run(run_name=f"{name} {json.dumps(params, sort_keys=True)}") as run:
            self.mlflow.set_tags({**self.tags, "model": name})
            self.mlflow.log_params(params)
            self.mlflow.log_metric(f"cv_{metric}", score)
            return run.info.run_id

    def chosen(self, run_id, model, registered_name):
        if not self.mlflow:
            return None
        import mlflow.sklearn

        with self.mlflow.start_run(run_id=run_id):
            self.mlflow.set_tag("chosen", "true")
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name=registered_name,
                                            serialization_format="cloudpickle",
                                            pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
        return info.registered_model_version


def main():
    params = yaml.safe_load(Path("params.yaml").read_text())["train"]
    metric, folds, seed = params["metric"], params["cv_folds"], params["seed"]
    data = np.loadtxt("data/prepared/train.csv", delimiter=",")
    x, y = data[:, :-1], data[:, -1].astype(int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    tracker = Tracker("iris_project", {"git_revision": git_revision(),
                                        "data_md5": data_hash("data/prepared")})
    results = []
    for name, grid_params in candidates(params["models"]):
        score = float(np.mean(cross_val_score(MODELS[name](seed, **grid_params), x, y, cv=splitter, scoring=metric)))
        run_id = tracker.candidate(name, grid_params, metric, score)
        results.append({"model": name, "params": grid_params, f"cv_{metric}": round(score, 4), "run_id": run_id})
        print(f"{name} {grid_params}: cv {metric} {score:.4f}")
    # The best score; on a tie, the first in params.yaml's order.
    best = max(results, key=lambda r: r[f"cv_{metric}"])
    model = MODELS[best["model"]](seed, **best["params"]).fit(x, y)
    model.class_names_ = Path("data/prepared/classes.txt").read_text().split()
    model.mlflow_run_id_ = best["run_id"]
    Path("models").mkdir(exist_ok=True)
    joblib.dump(model, "models/model.joblib")
    best["registered_version"] = tracker.chosen(best["run_id"], model,
                                                os.environ.get("MLFLOW_REGISTERED_MODEL", "iris"))
    Path("models/selection.json").write_text(json.dumps({"chosen": best, "candidates": results}, indent=2) + "\n")
    print(f"chosen: {best['model']} {best['params']} (cv {metric} {best[f'cv_{metric}']})")


if __name__ == "__main__":
    main()
