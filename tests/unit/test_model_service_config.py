"""Role `model_service` renders gunicorn's worker class by source unless one is set: the
shipped app (example, project sources) is ASGI, a git source is taken to be WSGI."""

import pytest

from conftest import local_playbook


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({}, "uvicorn_worker.UvicornWorker", id="example"),
        pytest.param({"model_service_source": "project"}, "uvicorn_worker.UvicornWorker", id="project"),
        pytest.param({"model_service_source": "git"}, "gthread", id="git"),
        pytest.param({"model_service_source": "git", "model_service_worker_class": "uvicorn_worker.UvicornWorker"},
                     "uvicorn_worker.UvicornWorker", id="git-asgi"),
        pytest.param({"model_service_worker_class": "sync"}, "sync", id="example-set"),
    ],
)
def test_worker_class_follows_the_source_unless_set(tmp_path, extra, expected):
    out = tmp_path / "gunicorn.conf.py"
    result = local_playbook("render_gunicorn_config.yml", {"out": str(out), **extra}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    settings = {}
    exec(compile(out.read_text(), str(out), "exec"), settings)  # the file just rendered above
    assert settings["worker_class"] == expected
    assert settings["bind"] == "0.0.0.0:8000"
