"""Role `docker`: the engine runs with the configured daemon.json, a docker-group user runs
containers and compose projects, others cannot; the upstream repository files (side effect);
the uninstall keeps the images, which a reinstall runs, and purge_data removes them."""

import base64
import contextlib
import json
import os
from pathlib import Path

import pytest
from molecule_helpers import ROOT, as_user, assert_unchanged, run_playbook

IMAGE_TARS = "/var/cache/mlplatform-images"


@contextlib.contextmanager
def running_container(host, name, image, command, options=""):
    """A container NAME running COMMAND in the background (docker run OPTIONS), removed afterwards."""
    host.run("docker rm -f %s", name)
    assert host.run(f"docker run -d --name %s {options} %s {command}", name, image).rc == 0
    try:
        yield name
    finally:
        host.run("docker rm -f %s", name)


def tcp_probe(address, port, tries):
    """Python code that exits 0 once ADDRESS:PORT accepts a connection (TRIES half-second tries)."""
    return ("import socket, time\n"
            f"for _ in range({tries}):\n"
            f"    try: socket.create_connection(('{address}', {port}), timeout=2); break\n"
            "    except OSError: time.sleep(0.5)\n"
            "else: raise SystemExit(1)\n")


@pytest.fixture(scope="module")
def test_image(host):
    """The harness's Python image, loaded into the engine (nothing can be pulled here)."""
    version = host.file("/etc/debian_version").content_string.split(".")[0]
    tag = f"mlplatform/python:{version}"
    if host.run("docker image inspect %s", tag).rc != 0:
        load = host.run("docker load -i %s/mlplatform-python-%s.tar", IMAGE_TARS, version)
        assert load.rc == 0, load.stderr
    return tag


def test_engine_runs_with_the_configured_daemon(host):
    assert host.service("docker").is_running
    assert host.service("docker").is_enabled
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LoggingDriver"] == "journald"
    assert info["LiveRestoreEnabled"] is True
    assert info["RegistryConfig"]["Mirrors"] == ["http://mirror.invalid:5000/"]
    assert "registry.invalid:5000" in info["RegistryConfig"]["IndexConfigs"]


def test_daemon_json_holds_the_log_tag_and_extra_options(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-opts"] == {"tag": "{{.Name}}"}
    assert config["default-ulimits"]["nofile"]["Soft"] == 4096


def test_a_container_cannot_gain_privileges(host, test_image):
    """daemon.json no-new-privileges: set for every container by default."""
    result = host.run("docker run --rm %s grep NoNewPrivs /proc/self/status", test_image)
    assert result.stdout.split() == ["NoNewPrivs:", "1"], result.stderr


def test_containers_on_the_default_bridge_cannot_reach_each_other(host, test_image):
    """daemon.json icc false: the host reaches a container's port, another container does not."""
    with running_container(host, "mlp-icc-test", test_image, "python3 -m http.server 8000") as name:
        address = host.check_output("docker inspect -f '{{.NetworkSettings.IPAddress}}' %s", name)
        assert host.run("python3 -c %s", tcp_probe(address, 8000, 20)).rc == 0  # the server answers the host
        blocked = host.run("docker run --rm %s python3 -c %s", test_image, tcp_probe(address, 8000, 2))
        assert blocked.rc != 0, blocked.stdout


def test_published_ports_are_forwarded_without_a_userland_proxy(host, test_image):
    """daemon.json userland-proxy false: no docker-proxy process, and a published port
    answers on the host's own address and on 127.0.0.1 (NAT, with route_localnet)."""
    with running_container(host, "mlp-nat-test", test_image, "python3 -m http.server 8000", "-p 8089:8000"):
        for address in ("127.0.0.1", host.check_output("hostname -I").split()[0]):
            assert host.run("python3 -c %s", tcp_probe(address, 8089, 20)).rc == 0, address
        assert host.run("pgrep -x docker-proxy").rc == 1


def test_a_docker_group_user_runs_a_container(host, test_image):
    result = as_user(host, "alice", f"docker run --rm {test_image} python3 -c 'print(1 + 1)'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "2"


def test_containers_get_the_default_ulimits(host, test_image):
    result = host.run("docker run --rm %s sh -c 'ulimit -Sn; ulimit -Hn'", test_image)
    assert result.stdout.split() == ["4096", "8192"], result.stderr


def test_a_busy_containers_every_log_line_reaches_the_journal(host, test_image):
    """docker_log_driver journald: 20,000 lines in about a second all reach the journal under
    the container's name (its tag), and `docker logs` reads them back from there."""
    name = "mlp-log-test"
    lines = 20000
    host.run("docker rm -f %s", name)
    try:
        run = host.run("docker run --name %s %s python3 -c %s", name, test_image,
                       f"for i in range({lines}): print('line', i)")
        assert run.rc == 0, run.stderr
        counted = host.run("sh -c %s", f"journalctl --sync; journalctl -t {name} -o cat | grep -c '^line '")
        assert counted.stdout.strip() == str(lines), counted.stderr
        assert host.check_output("journalctl CONTAINER_NAME=%s -o cat -n 1", name) == f"line {lines - 1}"
        tail = host.check_output("docker logs --tail 1 %s", name)
        assert tail == f"line {lines - 1}"
    finally:
        host.run("docker rm -f %s", name)


def test_other_users_cannot_reach_the_engine(host):
    result = as_user(host, "mallory", "docker ps")
    assert result.rc != 0
    assert "permission denied" in result.stderr.lower()


def test_compose_runs_a_project(host, test_image):
    project = "/home/alice/compose-test"
    compose_file = f"""
services:
  web:
    image: {test_image}
    command: python3 -m http.server 8000
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000')"]
      interval: 2s
"""
    as_user(host, "alice", f"mkdir -p {project}")
    encoded = base64.b64encode(compose_file.encode()).decode()
    host.run("echo %s | base64 -d > %s/compose.yml", encoded, project)
    host.run("chown alice %s/compose.yml", project)
    compose = ("docker compose" if as_user(host, "alice", "docker compose version").rc == 0
               else "docker-compose")
    up = as_user(host, "alice", f"cd {project} && {compose} -f compose.yml -p mlptest up -d")
    try:
        assert up.rc == 0, up.stderr
        answer = as_user(host, "alice", f"cd {project} && {compose} -f compose.yml -p mlptest exec -T web "
                         "python3 -c \"import urllib.request; print(urllib.request.urlopen('http://localhost:8000').status)\"")
        assert answer.stdout.strip() == "200", answer.stderr
    finally:
        as_user(host, "alice", f"cd {project} && {compose} -f compose.yml -p mlptest down")


def test_upstream_repository_is_signed_by_its_key_only(host):
    source = host.file("/etc/apt/sources.list.d/docker.sources")
    assert source.exists
    fields = dict(line.split(": ", 1) for line in source.content_string.splitlines() if ": " in line)
    assert fields["URIs"] == "file:///srv/test-docker-mirror/debian"
    assert fields["Suites"] == host.system_info.codename
    assert fields["Components"] == "stable"
    assert fields["Signed-By"] == "/etc/apt/keyrings/docker.asc"
    keyring = host.file("/etc/apt/keyrings/docker.asc")
    assert keyring.mode == 0o644
    assert keyring.content_string == host.file("/srv/test-docker-mirror/debian/gpg").content_string


# --- Uninstall (playbooks/decommission.yml), last: it takes the engine and the side effect's
# repository files off -------------------------------------------------------------------------

DECOMMISSION = ROOT / "playbooks" / "decommission.yml"
CONFIRMED = ("--tags", "docker", "-e", "skip_confirmation=true")
SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])


def test_decommission_removes_the_engine_keeps_its_images_and_a_reinstall_runs_them(host, test_image):
    image = host.check_output("docker image inspect -f '{{.Id}}' %s", test_image)
    run_playbook(DECOMMISSION, *CONFIRMED)
    assert host.run("command -v docker").rc != 0
    assert not host.package("docker.io").is_installed
    for path in ("/etc/docker", "/etc/apt/sources.list.d/docker.sources", "/etc/apt/keyrings/docker.asc"):
        assert not host.file(path).exists, path
    assert host.file("/var/lib/docker").is_directory
    again = run_playbook(DECOMMISSION, *CONFIRMED)
    assert_unchanged(again)

    run_playbook(SCENARIO / "converge.yml")
    assert host.check_output("docker image inspect -f '{{.Id}}' %s", test_image) == image
    result = as_user(host, "alice", f"docker run --rm {test_image} python3 -c 'print(6 * 7)'")
    assert result.rc == 0 and result.stdout.strip() == "42", result.stderr


def test_decommission_with_purge_data_removes_images_and_containers(host):
    run_playbook(DECOMMISSION, *CONFIRMED, "-e", "purge_data=true")
    # The data root is a mount point here (the engine's volume): emptied, not removed.
    for path in ("/var/lib/docker", "/var/lib/containerd"):
        assert host.run("find %s -mindepth 1 -maxdepth 1 2>/dev/null | head -1", path).stdout == "", path
    again = run_playbook(DECOMMISSION, *CONFIRMED, "-e", "purge_data=true")
    assert_unchanged(again)
