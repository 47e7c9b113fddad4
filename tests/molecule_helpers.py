"""Helpers for the scenarios' testinfra tests (imported from tests/ by path).

    sys.path.insert(0, str(ROOT / "tests")); from molecule_helpers import run_playbook
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_playbook(playbook, *extra, expect_rc=0):
    """Run a playbook against the scenario's instances, as Molecule does (its inventory),
    with the project's ansible.cfg and roles. Asserts the exit code (unless expect_rc is
    None); returns the result."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(["ansible-playbook", "-i", str(inventory), str(playbook), *extra],
                            env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert expect_rc is None or result.returncode == expect_rc, result.stdout[-4000:] + result.stderr[-2000:]
    return result
