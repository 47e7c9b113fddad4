"""Train the example model: logistic regression on the iris data bundled with scikit-learn.

usage: python train.py [OUTPUT] [--C VALUE]

Writes the fitted estimator with joblib (default model.joblib). Training is deterministic:
the same data and parameters give the same predictions.
"""

import argparse

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="model.joblib")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    args = parser.parse_args()

    iris = load_iris()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=1000))
    model.fit(iris.data, iris.target)
    model.class_names_ = [str(name) for name in iris.target_names]
    joblib.dump(model, args.output)
    print(f"trained on {len(iris.target)} rows, accuracy {model.score(iris.data, iris.target):.3f}")


if __name__ == "__main__":
    main()
