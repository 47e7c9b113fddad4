"""Helpers for the control-node tests: run Ansible with the project's ansible.cfg."""

import json
import os
import subprocess
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
