"""Role `docker` writes daemon.json's log settings by driver: journald (the default) tags each
line with the container's name (Docker's template, left as it is), the file drivers rotate by
size and count; extra options merge last."""

import json

import pytest

from conftest import local_playbook


@pytest.mark.parametrize(
    ("extra", "driver", "options"),
    [
        pytest.param({}, "journald", {"tag": "{{.Name}}"}, id="default"),
        pytest.param({"docker_log_driver": "json-file", "docker_log_max_size": "5m", "docker_log_max_file": 2},
                     "json-file", {"max-size": "5m", "max-file": "2"}, id="json-file"),
        pytest.param({"docker_log_driver": "local"}, "local", {"max-size": "10m", "max-file": "3"}, id="local"),
    ],
)
def test_daemon_json_logs_by_driver(tmp_path, extra, driver, options):
    out = tmp_path / "daemon.json"
    result = local_playbook("render_docker_daemon_json.yml",
                            {"out": str(out), "docker_daemon_options": {"debug": True}, **extra}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads(out.read_text())
    assert config["log-driver"] == driver
    assert config["log-opts"] == options
    assert config["live-restore"] is True and config["debug"] is True
