"""The baseline of bench/model_service.sh: the model served the way such services are often
first written -- Flask's development server (`app.run`), scikit-learn's `predict` on the
posted row, no input checks, no metrics. It serves the deployed image's model (MODEL_PATH).
Not for production: it exists to be measured against."""

import os

import joblib
from flask import Flask, jsonify, request

model = joblib.load(os.environ.get("MODEL_PATH", "model.joblib"))
app = Flask(__name__)


@app.route("/predict", methods=["POST"])
def predict():
    row = request.get_json()
    prediction = model.predict([row])
    return jsonify({"prediction": int(prediction[0])})


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "5000")))
