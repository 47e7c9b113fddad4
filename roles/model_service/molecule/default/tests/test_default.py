"""Role `model_service`: the deployed service answers through nginx, refuses bad input with
4xx JSON, and survives updates: a rolling update under load loses no request, a broken
version is rolled back automatically, rollback_model.yml returns to the previous version,
decommission_model.yml removes everything. The tests run in this order (one deployment)."""

import json
import os
import random
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from molecule_helpers import KeepAliveClients, run_playbook

ROOT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]).resolve().parents[1]

TEST_REPO = "/srv/git/model-service.git"
# The test repository holds the example (an ASGI app): a git source is taken to be WSGI
# unless the worker class says otherwise.
GIT = ["-e", "model_service_source=git", "-e", f"model_service_git_repo={TEST_REPO}",
       "-e", "model_service_build_command='python train.py model.joblib'",
       "-e", "model_service_worker_class=uvicorn_worker.UvicornWorker"]
# Iris rows whose classes every reasonable model agrees on: setosa, versicolor, virginica.
VAULT = Path(__file__).resolve().parents[1] / "vault"
# The git deploys take the service's secret from an ansible-vault encrypted file.
VAULTED = ["-e", f"@{VAULT / 'secrets.yml'}", "--vault-password-file", str(VAULT / "password")]
KNOWN_ROWS = [([5.1, 3.5, 1.4, 0.2], 0), ([5.9, 3.0, 4.2, 1.5], 1), ([6.7, 3.0, 5.2, 2.3], 2)]


def playbook(name, *extra):
    """Run one of the project's playbooks against the instance; the caller checks the result."""
    return run_playbook(ROOT / "playbooks" / name, *extra, expect_rc=None)


@pytest.fixture(scope="module")
def base_url(host):
    address = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", host.backend.host],
        capture_output=True, text=True, check=True).stdout.strip()
    return f"http://{address}:80"


def call(base_url, path, body=None, raw=None, headers=None):
    """(status, parsed JSON or text) over a new connection."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base_url + path, data=data, headers={"Content-Type": "application/json",
                                                                        **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def test_status_text(base_url):
    status, text = call(base_url, "/")
    assert status == 200
    assert "model service: ready" in text


@pytest.mark.parametrize(("row", "expected"), KNOWN_ROWS)
def test_known_rows_get_their_class(base_url, row, expected):
    status, answer = call(base_url, "/predict", row)
    assert status == 200
    assert answer["prediction"] == expected


def test_a_batch_gets_a_result_list(base_url):
    status, answer = call(base_url, "/predict", {"data": [row for row, _ in KNOWN_ROWS]})
    assert status == 200
    assert answer["result"] == [expected for _, expected in KNOWN_ROWS]


EXAMPLE = {}


def test_health_names_the_version_and_model(base_url):
    status, health = call(base_url, "/health")
    EXAMPLE.update(health)
    assert status == 200
    assert health["ready"] is True
    assert health["revision"].startswith("example-")
    assert len(health["model_sha256"]) == 64
    assert health["predictor"] == "linear"
    assert health["mlflow_run_id"] is None  # the example model was not tracked


def test_the_service_answers_what_the_model_predicts(host, base_url):
    """The numpy path gives scikit-learn's own predictions: 1000 seeded rows over and
    beyond the iris ranges, through nginx, against the model's predict in the container."""
    rng = random.Random(6)
    rows = [[round(rng.uniform(0, 8), 2) for _ in range(4)] for _ in range(1000)]
    status, answer = call(base_url, "/predict", {"data": rows})
    assert status == 200
    script = ("import json, os, sys, joblib; model = joblib.load(os.environ['MODEL_PATH']); "
              "print(json.dumps(model.predict(json.loads(sys.argv[1])).tolist()))")
    expected = json.loads(host.check_output(
        "docker exec %s python -c %s %s", release_containers(host)[0], script, json.dumps(rows)))
    assert answer["result"] == expected
    assert len(set(expected)) == 3


def test_other_models_are_not_given_the_numpy_path(host):
    """Models other than scalers + a linear classifier, and a predictor that disagrees with
    its model, fall back to the model's own predict."""
    script = (
        "import numpy, app; from sklearn.tree import DecisionTreeClassifier;"
        " from sklearn.linear_model import RidgeClassifier;"
        " X = [[0, 0, 0, 0], [1, 1, 1, 1]]; y = [0, 1];"
        " print(app._linear_predictor(DecisionTreeClassifier().fit(X, y)) is None,"
        " app._linear_predictor(RidgeClassifier().fit(X, y)) is None,"
        " app._agrees(app.MODEL, app._linear_predictor(app.MODEL), 4),"
        " app._agrees(app.MODEL, lambda rows: numpy.zeros(len(rows), dtype=int), 4))")
    assert host.check_output("docker exec %s python -c %s", release_containers(host)[0], script).split() == [
        "True", "True", "True", "False"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        pytest.param(b"[5.1, 3.5, 1.4]", 400, "3 features, the model expects 4", id="feature-count"),
        pytest.param(b'[5.1, "x", 1.4, 0.2]', 400, "not a finite number", id="not-a-number"),
        pytest.param(b"[5.1, 3.5, 1.4, 0.2", 400, "not valid JSON", id="broken-json"),
        pytest.param(b'{"data": [[1, 2, 3, 4], [1, 2]]}', 400, "data[1] has 2 features", id="batch-row"),
        pytest.param(b'{"rows": []}', 400, "expected a list of numbers", id="wrong-shape"),
        pytest.param(b"[" + b"1.0, " * 20000 + b"1.0]", 413, "larger than 65536 bytes", id="oversized"),
    ],
)
def test_bad_input_gets_a_4xx_json_error(base_url, body, status, fragment):
    got, answer = call(base_url, "/predict", raw=body)
    assert got == status
    assert fragment in answer["error"]


def test_still_serving_after_bad_input(base_url):
    assert call(base_url, "/predict", KNOWN_ROWS[0][0])[1]["prediction"] == 0


def samples(text):
    """Prometheus text -> {'name{labels}': value}."""
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def test_metrics_count_requests_latency_and_classes(host, base_url):
    """Summed over the replicas (/metrics/1 and /metrics/2), the metrics count exactly the
    requests made: the tests above made 6 answered /predict calls (1007 rows) and 5 refused
    with 400 (the oversized one is nginx's 413 and never reaches the service); this one
    makes 30 more (a row of each class ten times), which both replicas share."""
    for number in range(30):
        assert call(base_url, "/predict", KNOWN_ROWS[number % 3][0])[1]["prediction"] == number % 3
    status, text = call(base_url, "/metrics")
    assert status == 200
    assert "# TYPE model_requests_total counter" in text
    # /metrics/N is replica N's own, read here against the replica itself.
    script = ("import urllib.request;"
              " print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())")
    predicts = 'model_request_seconds_count{endpoint="/predict"}'
    replicas = []
    for number, name in enumerate(release_containers(host), start=1):
        status, text = call(base_url, f"/metrics/{number}")
        assert status == 200
        replicas.append(samples(text))
        own = samples(host.check_output("docker exec %s python -c %s", name, script))
        assert own.get(predicts, 0) == replicas[-1].get(predicts, 0)
    assert call(base_url, "/metrics/3")[0] == 404

    def total(sample):
        return sum(replica.get(sample, 0) for replica in replicas)

    assert total('model_requests_total{endpoint="/predict",status="200"}') == 36
    assert total('model_requests_total{endpoint="/predict",status="400"}') == 5
    assert total(predicts) == 41
    # nginx takes the replicas from Docker's DNS in turn: both answered (1 in 2^40 not).
    assert all(replica.get(predicts, 0) > 0 for replica in replicas), [r.get(predicts) for r in replicas]
    classes = [f'model_predictions_total{{class="{name}"}}' for name in ("setosa", "versicolor", "virginica")]
    assert sum(total(sample) for sample in classes) == 1037
    assert all(total(sample) >= 2 for sample in classes)


def test_only_nginx_is_published(host):
    containers = host.check_output("docker ps --format '{{.Names}} {{.Ports}}'").splitlines()
    published = [line for line in containers if "->" in line]
    assert len(published) == 1 and published[0].startswith("model-service-proxy "), containers
    for network in ("model-service-backend", "model-service-live"):
        assert json.loads(host.check_output("docker network inspect %s", network))[0]["Internal"] is True


def test_service_containers_are_confined(host):
    names = host.check_output(
        "docker ps --format '{{.Names}}' --filter label=org.mlplatform.release").split()
    assert len(names) == 2
    for name in names:
        config = json.loads(host.check_output("docker inspect %s", name))[0]
        assert config["HostConfig"]["Memory"] == 512 * 1024 * 1024
        assert config["HostConfig"]["ReadonlyRootfs"] is True
        assert config["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert config["HostConfig"]["LogConfig"] == {"Type": "journald", "Config": {"tag": "{{.Name}}"}}
        # ...and its log (gunicorn's start) is in the host's journal under its name.
        assert host.run("journalctl -t %s -o cat | grep -q gunicorn", name).rc == 0, name
        assert config["State"]["Health"]["Status"] == "healthy"
        assert host.check_output("docker exec %s id -un", name) == "model"
        assert config["HostConfig"]["PidsLimit"] > 0 and config["HostConfig"]["CpuShares"] == 512
        # The secret reaches the service...
        assert "MODEL_SERVICE_TEST_SECRET=not-a-real-secret-7f3a" in config["Config"]["Env"]


def test_every_container_meets_the_cis_docker_items(host):
    """What docker-bench-security checks of a running container (CIS Docker Benchmark 4.1,
    4.6, 5.3, 5.10-5.12, 5.25, 5.28), for the proxy and the service's containers alike: not
    root, a healthcheck in the image and running, no added capability, a memory bound, a CPU
    weight, a read-only root, no privilege gain, a process bound."""
    names = host.check_output("docker ps --format '{{.Names}}' --filter label=org.mlplatform.model-service").split()
    assert "model-service-proxy" in names and len(names) == 3, names
    for name in names:
        deadline = time.monotonic() + 60
        while True:
            config = json.loads(host.check_output("docker inspect %s", name))[0]
            if config["State"]["Health"]["Status"] != "starting" or time.monotonic() > deadline:
                break
            time.sleep(2)
        hostconfig = config["HostConfig"]
        assert config["State"]["Health"]["Status"] == "healthy", name
        assert host.check_output("docker exec %s id -u", name) != "0", name
        image = json.loads(host.check_output("docker image inspect %s", config["Image"]))[0]
        assert image["Config"]["Healthcheck"]["Test"][0] == "CMD", name
        assert image["Config"]["User"] not in ("", "root", "0"), name
        assert hostconfig["CapDrop"] == ["ALL"] and not hostconfig["CapAdd"], name
        assert hostconfig["Privileged"] is False, name
        assert hostconfig["Memory"] > 0 and hostconfig["CpuShares"] not in (0, 1024), name
        assert hostconfig["ReadonlyRootfs"] is True, name
        assert "no-new-privileges" in hostconfig["SecurityOpt"], name
        assert hostconfig["PidsLimit"] > 0, name
        status = host.check_output("docker exec %s grep NoNewPrivs /proc/1/status", name)
        assert status.split() == ["NoNewPrivs:", "1"], name


def revision(host, ref):
    return host.check_output("git --git-dir %s rev-parse %s^{commit}", TEST_REPO, ref)


def release_containers(host):
    return sorted(host.check_output(
        "docker ps --all --format '{{.Names}}' --filter label=org.mlplatform.release").split())


def keep_alive_clients(base_url):
    """Keep-alive clients posting a virginica row (class 2) through the block."""
    return KeepAliveClients(base_url, KNOWN_ROWS[2][0], 2)


def test_rolling_update_under_load_loses_no_request(host, base_url):
    """Keep-alive clients post through the whole update; not one request may fail."""
    with keep_alive_clients(base_url) as load:
        deploy = playbook("deploy_model.yml", *GIT, *VAULTED, "-e", "model_service_git_version=v1")
    assert deploy.returncode == 0, deploy.stdout[-3000:]
    load.check()
    # The vaulted secret reaches the new version decrypted, and is never printed.
    for name in release_containers(host):
        env = json.loads(host.check_output("docker inspect %s", name))[0]["Config"]["Env"]
        assert "MODEL_SERVICE_TEST_SECRET=not-a-real-secret-7f3a" in env
    assert "not-a-real-secret-7f3a" not in deploy.stdout + deploy.stderr
    health = call(base_url, "/health")[1]
    assert health["revision"] == revision(host, "v1")
    assert health["model_sha256"] != EXAMPLE["model_sha256"]
    assert call(base_url, "/predict", KNOWN_ROWS[0][0])[1]["prediction"] == 0


def test_a_broken_version_is_rolled_back_automatically(host, base_url):
    before = release_containers(host)
    with keep_alive_clients(base_url) as load:
        deploy = playbook("deploy_model.yml", *GIT, "-e", "model_service_git_version=broken",
                          "-e", "model_service_health_timeout=20")
    assert deploy.returncode != 0
    load.check()
    assert "did not become healthy within 20 s and was removed" in deploy.stdout
    assert f"version {revision(host, 'v1')} keeps serving" in deploy.stdout
    # The exception in its log is part of the message, past the restarts' start-up lines.
    assert "Exceptions in the log of" in deploy.stdout
    assert "RuntimeError: this version cannot start" in deploy.stdout
    assert release_containers(host) == before
    assert call(base_url, "/health")[1]["revision"] == revision(host, "v1")
    assert call(base_url, "/predict", KNOWN_ROWS[1][0])[1]["prediction"] == 1


def test_rollback_returns_to_the_previous_version(base_url):
    with keep_alive_clients(base_url) as load:
        result = playbook("rollback_model.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    load.check()
    health = call(base_url, "/health")[1]
    assert health["revision"] == EXAMPLE["revision"]
    assert health["model_sha256"] == EXAMPLE["model_sha256"]


def test_rollback_twice_returns_to_where_it_was(host, base_url):
    result = playbook("rollback_model.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert call(base_url, "/health")[1]["revision"] == revision(host, "v1")


def service_images(host):
    return sorted(host.check_output(
        "docker image ls --format '{{.Tag}}' --filter label=org.mlplatform.revision").split())


def test_images_beyond_those_kept_are_pruned(host, base_url):
    """With model_service_keep_images 0 only the current and the previous version's images
    stay: the broken version's image goes, rollback still has somewhere to go."""
    tags = {ref: revision(host, ref) for ref in ("v1", "broken")}
    before = service_images(host)
    assert len(before) == 3 and any(tag.startswith(tags["broken"][:12]) for tag in before), before
    result = playbook("deploy_model.yml", *GIT, "-e", "model_service_git_version=v1",
                      "-e", "model_service_keep_images=0")
    assert result.returncode == 0, result.stdout[-3000:]
    after = service_images(host)
    assert len(after) == 2, after
    assert not any(tag.startswith(tags["broken"][:12]) for tag in after)
    assert any(tag.startswith(tags["v1"][:12]) for tag in after)
    assert any(tag.startswith(EXAMPLE["revision"].removeprefix("example-")) for tag in after)
    assert call(base_url, "/health")[1]["revision"] == tags["v1"]


def test_swarm_mode_on_a_host_outside_a_swarm_is_refused(host, base_url):
    """model_service_mode swarm needs the host's engine in a swarm (role swarm): refused before
    any change, naming the variable; the running version keeps serving, untouched."""
    before = release_containers(host)
    deploy = playbook("deploy_model.yml", "-e", "model_service_mode=swarm")
    assert deploy.returncode == 2, deploy.stdout[-3000:]
    assert "model_service_mode: swarm, but" in deploy.stdout and "is not in a swarm" in deploy.stdout
    assert "changed=0" in deploy.stdout
    assert release_containers(host) == before
    assert call(base_url, "/predict", KNOWN_ROWS[1][0])[1]["prediction"] == 1


def test_decommission_removes_the_service(host, base_url):
    result = playbook("decommission_model.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.check_output("docker ps --all --quiet --filter label=org.mlplatform.model-service") == ""
    assert host.check_output("docker image ls --quiet --filter label=org.mlplatform.model-service") == ""
    assert not host.file("/var/lib/mlplatform/model-service/model-service.json").exists
    with pytest.raises(OSError):
        call(base_url, "/health")


