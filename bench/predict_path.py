"""Time a one-row prediction inside a container of the deployed example service: the
model's own `predict` (scikit-learn, as the dev server calls it), the same with the input
checks the service makes redundant switched off, and the service's verified numpy path.
bench/model_service.sh runs it (`python - < bench/predict_path.py` in the app directory)."""

import timeit

import sklearn

import app

ROW = [[5.9, 3.0, 4.2, 1.5]]


def per_call_us(function, number=2000):
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def unchecked():
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        return app.MODEL.predict(ROW)


figures = [("scikit-learn predict", per_call_us(lambda: app.MODEL.predict(ROW))),
           ("  without re-checks", per_call_us(unchecked))]
if app.FAST_PREDICT is not None:
    figures.append(("numpy path (service)", per_call_us(lambda: app.FAST_PREDICT(ROW))))
print(f"one-row predict in the service's container (predictor: {app.PREDICTOR}):")
for name, us in figures:
    print(f"  {name:<22} {us:8.1f} us")
