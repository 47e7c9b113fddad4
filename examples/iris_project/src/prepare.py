"""Split the iris data bundled with scikit-learn into train and test sets (data/prepared)."""

from pathlib import Path

import numpy as np
import yaml
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split


def main():
    params = yaml.safe_load(Path("params.yaml").read_text())["prepare"]
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=params["test_size"], random_state=params["seed"],
        stratify=iris.target)
    out = Path("data/prepared")
    out.mkdir(parents=True, exist_ok=True)
    np.savetxt(out / "train.csv", np.column_stack([x_train, y_train]), delimiter=",", fmt="%g")
    np.savetxt(out / "test.csv", np.column_stack([x_test, y_test]), delimiter=",", fmt="%g")
    (out / "classes.txt").write_text("\n".join(str(name) for name in iris.target_names) + "\n")


if __name__ == "__main__":
    main()
