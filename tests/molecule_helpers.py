"""Helpers shared by the scenarios' testinfra tests: running a command as a user, as the lab's
operator, a playbook, and reading a play recap. On the verifier's path (PYTHONPATH, set in
.config/molecule/config.yml):

    from molecule_helpers import as_user, assert_unchanged, run_playbook

and KeepAliveClients, the model service's clients that must lose no request.
"""

import http.client
import json
import os
import re
import shlex
import subprocess
import threading
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def as_user(host, user, command, login=False, umask=None, strict=False):
    """Run a shell command as `user` on a testinfra host.

    login:  in the user's login shell (`runuser -l`: their environment, their home as the
            working directory); otherwise `runuser -u USER -- sh -c`.
    umask:  set first (for example "077", what a careless client creates files with).
    strict: `set -e` first, so that a failing step fails the whole command.
    """
    script = "".join([f"umask {umask}; " if umask else "", "set -e; " if strict else "", command])
    if login:
        return host.run(f"runuser -l {user} -c {shlex.quote(script)}")
    return host.run(f"runuser -u {user} -- sh -c {shlex.quote(script)}")


def operator(host, command):
    """Run a command in the lab operator's login shell on the lab's admin host (its
    ansible.cfg and inventory/lab are the defaults there)."""
    return as_user(host, "debian", command, login=True)


def lab_playbook(host, name, *extra):
    """Run playbooks/NAME with extra arguments as the lab's operator on its admin host (the
    result: rc, stdout, stderr)."""
    return operator(host, " ".join(["ansible-playbook", f"playbooks/{name}", *map(shlex.quote, extra)]))


def lab_shell(host, target, command, user=None, check=True):
    """Run a shell command on lab hosts through Ansible from the admin host, as root (or as
    `user`). Its stdout; with check=False, (rc, stdout) and no assertion."""
    become = f"-b --become-user {user}" if user else "-b"
    result = operator(host, f"ansible {target} {become} -m ansible.builtin.shell -a {shlex.quote(command)} -o")
    out = result.stdout.split("(stdout) ", 1)[1].replace("\\n", "\n") if "(stdout) " in result.stdout else ""
    if not check:
        return result.rc, out
    assert result.rc == 0, result.stdout + result.stderr
    return out


def recap(output):
    """The PLAY RECAP of an ansible-playbook run: {host: {"ok": n, "changed": n, ...}}."""
    return {
        match[1]: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match[2])}
        for match in re.finditer(r"^(\S+)\s+: (ok=\d+.*)$", output, re.M)
    }


def task_blocks(output):
    """An ansible-playbook run's output cut into its tasks: each block starts with its
    "TASK [role : name]" line and holds the hosts' results."""
    return [block for block in re.split(r"\n(?=TASK \[)", output) if block.startswith("TASK [")]


def changed_tasks(output):
    """The tasks of a run that changed something, with the hosts they changed (and the
    module's message where the output has one): what an idempotence failure shows."""
    return [block.split("\n", 1)[0] + "\n" + "\n".join(
                line for line in block.splitlines() if line.startswith("changed:"))
            for block in task_blocks(output) if "\nchanged:" in block]


def assert_unchanged(result):
    """A playbook run that reported its hosts and changed nothing on any of them; otherwise
    the tasks that changed something."""
    stats = recap(result.stdout)
    assert stats, "no PLAY RECAP in the output:\n" + result.stdout[-2000:]
    assert all(host["changed"] == 0 for host in stats.values()), changed_tasks(result.stdout)


def container_address(host):
    """The instance's address on the Docker network, where the tests reach its services."""
    return subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
         host.backend.host], capture_output=True, text=True, check=True).stdout.strip()


def docker(*args, timeout=180):
    """Run the docker CLI on the machine that runs the tests (the lab's and the scenarios'
    Docker host); fails on a non-zero exit. The result."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=True)


def trust_anchor(host, certificate, directory):
    """A server's self-signed certificate copied from the instance into DIRECTORY: the trust
    anchor a team member installs. Its path."""
    path = directory / Path(certificate).name
    path.write_text(host.file(certificate).content_string)
    return str(path)


def run_playbook(playbook, *extra, expect_rc=0):
    """Run a playbook against the scenario's instances, as Molecule does (its inventory),
    with the project's ansible.cfg and roles. Asserts the exit code (unless expect_rc is
    None); returns the result."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(["ansible-playbook", "-i", str(inventory), str(playbook), *extra],
                            env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert expect_rc is None or result.returncode == expect_rc, failure_report(result)
    return result


def failure_report(result):
    """What a failed run shows: the tasks that failed (whole), then the output's end."""
    failed = [block[:3000] for block in task_blocks(result.stdout)
              if re.search(r"^(fatal|failed): ", block, re.MULTILINE)]
    return ("\n".join(failed) + "\n...\n" if failed else "") + result.stdout[-2500:] + result.stderr[-1500:]


class KeepAliveClients:
    """Clients that keep their connections open, as requests.Session, wrk or a service mesh
    do, posting `row` to the model service's /predict (expecting `prediction`) in a loop for as long as the block runs. Every refused, reset or
    unanswered request and every wrong answer is kept in `failures`; nothing is retried.
    A connection the server announced it closes (Connection: close) is opened again, as any
    HTTP/1.1 client does; `connections` counts the connections opened."""

    def __init__(self, base_url, row, prediction, clients=4):
        parsed = urllib.parse.urlsplit(base_url)
        self.address = (parsed.hostname, parsed.port)
        self.body = json.dumps(row).encode()
        self.prediction = prediction
        self.clients = clients
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered, self.connections, self.failures = 0, 0, []
        self.threads = []

    def __enter__(self):
        self.threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self.threads)

    def _client(self):
        connection = http.client.HTTPConnection(*self.address, timeout=15)
        while not self.stop.is_set():
            if connection.sock is None:
                with self.lock:
                    self.connections += 1
            try:
                connection.request("POST", "/predict", body=self.body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                text = response.read()
                ok = response.status == 200 and json.loads(text).get("prediction") == self.prediction
                with self.lock:
                    self.answered += ok
                    if not ok:
                        self.failures.append((response.status, text[:200]))
            except (OSError, http.client.HTTPException, ValueError) as error:
                with self.lock:
                    self.failures.append(repr(error))
                connection.close()
        connection.close()

    def check(self, least=200):
        """Nothing lost, enough requests to mean something, and over kept-alive connections."""
        assert self.failures == [], (f"{len(self.failures)} of {self.answered + len(self.failures)} "
                                     f"requests failed: {self.failures[:5]}")
        assert self.answered >= least, self.answered
        assert self.connections <= self.clients + self.answered // 500, (self.connections, self.answered)
