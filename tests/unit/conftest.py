"""Helpers for the control-node tests: run Ansible with the project's ansible.cfg."""

import fcntl
import json
import os
import subprocess
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ansible(*args, cwd=ROOT, env=None):
    """Run an Ansible command line with the project's configuration; return the process."""
    full_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    full_env.update(env or {})
    return subprocess.run(
        list(args), cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300, check=False
    )


def assert_refused(result, fragments):
    """The run failed, and its output holds every fragment (the variable, what was wrong)."""
    assert result.returncode != 0, result.stdout
    for fragment in fragments:
        assert fragment in result.stdout, fragment


def local_playbook(name, extra_vars, workdir, *more):
    """Run tests/unit/playbooks/NAME on this machine with extra vars (passed as a JSON file in
    workdir, so that numbers and lists keep their types)."""
    vars_file = workdir / "vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    return ansible(
        "ansible-playbook", "-i", "localhost,", "-c", "local",
        "-e", "ansible_python_interpreter={{ ansible_playbook_python }}",
        "-e", f"@{vars_file}", *more, str(ROOT / "tests/unit/playbooks" / name),
    )


@pytest.fixture
def run_role_validation(tmp_path):
    """Run only the validation of a role on this machine, in check mode, with extra vars.

    `--tags mlp-validation-only` matches no task: only the argument spec check and the
    role's validation (tagged always) run, and --check keeps even those from changing a thing.
    """

    def run(role, extra_vars, *more):
        return local_playbook("validate_role.yml", extra_vars, tmp_path, "--check",
                              "--tags", "mlp-validation-only", "-e", f"role_under_test={role}", *more)

    return run


class HostResult:
    """One host's part of a batched run, shaped like a run of its own: a return code, and a
    transcript with a "TASK [...]" line before each of its results (a failed one after
    "fatal: [HOST]: FAILED!"), every string of the result on a line of its own, unescaped."""

    def __init__(self, returncode, stdout):
        self.returncode, self.stdout, self.stderr = returncode, stdout, ""


def _strings(value, key=""):
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, str):
        yield f"{key}: {value}"


def batch_validation(role, cases, workdir):
    """Run the validation of ROLE once for many cases ({id: extra vars}): each case is a host of
    its own in one inventory (its variables as host variables, types kept), so that one
    ansible-playbook start-up serves them all and each host fails or passes on its own input.
    Returns {id: HostResult}."""
    names = {f"case{index}": case_id for index, case_id in enumerate(cases)}
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    **cases[case_id]}
             for name, case_id in names.items()}
    inventory = workdir / f"{role}-cases.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    result = ansible(
        "ansible-playbook", "-i", str(inventory), "--forks", "20", "--check",
        "--tags", "mlp-validation-only", "-e", f"role_under_test={role}",
        str(ROOT / "tests/unit/playbooks/validate_role.yml"),
        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_JSON_INDENT": "0"},
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(f"the batched run printed no report: {result.stdout[-3000:]}{result.stderr[-3000:]}") from error
    transcripts = {name: [] for name in names}
    for play in report["plays"]:
        for task in play["tasks"]:
            for name, outcome in task["hosts"].items():
                status = (f"fatal: [{name}]: FAILED! =>" if outcome.get("failed")
                          else f"skipping: [{name}]" if outcome.get("skipped") else f"ok: [{name}]")
                transcripts[name] += [f"TASK [{task['task']['name']}]", status, *_strings(outcome)]
    stats = report["stats"]
    return {case_id: HostResult(2 if stats.get(name, {}).get("failures") or stats.get(name, {}).get("unreachable") else 0,
                                "\n".join(transcripts[name]))
            for name, case_id in names.items()}


@pytest.fixture(scope="session")
def validation_batch(tmp_path_factory, worker_id):
    """batch(role, params, base={}): run the validation of ROLE once for every pytest.param of
    PARAMS (its first value: the extra vars, merged over BASE), on first use; then
    batch(extra) gives that case's HostResult. With pytest-xdist, the first worker to need a
    batch runs it under a lock and leaves its results for the others (its directory is shared
    by the workers), as xdist's documentation does for a session fixture."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    made = {}

    def batch(role, params, base=None):
        cases = {json.dumps({**(base or {}), **param.values[0]}, sort_keys=True): {**(base or {}), **param.values[0]}
                 for param in params}
        key = (role, tuple(cases))
        if key not in made:
            name = f"batch-{role}-{zlib.crc32(json.dumps(list(cases)).encode()):08x}"
            with open(shared / f"{name}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                saved = shared / f"{name}.json"
                if not saved.exists():
                    workdir = shared / name
                    workdir.mkdir(exist_ok=True)
                    results = batch_validation(role, cases, workdir)
                    saved.write_text(json.dumps({case: vars(result) for case, result in results.items()}))
                loaded = json.loads(saved.read_text())
            made[key] = {case: HostResult(item["returncode"], item["stdout"]) for case, item in loaded.items()}
        results = made[key]
        return lambda extra: results[json.dumps({**(base or {}), **extra}, sort_keys=True)]

    return batch
