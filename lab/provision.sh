#!/usr/bin/env bash
# Provision the lab from its admin host, as an operator would on a real control node.
# Runs ON the admin container, as root (started by `make lab` and the lab Molecule scenario):
#
#   1. installs Ansible (the project's pins) in /opt/mlplatform-venv, once;
#   2. copies the project (mounted read-only at /srv/mlplatform) to the operator's home
#      and sets up the operator's login shell (PATH, ANSIBLE_CONFIG, ANSIBLE_INVENTORY);
#   3. as the operator, over SSH with inventory/lab: playbooks/bootstrap.yml while the hosts
#      do not yet accept the operator's key, then playbooks/site.yml.
#
#   provision.sh [ansible-playbook options for site.yml, e.g. --check --diff]
set -euo pipefail

operator=${MLP_LAB_OPERATOR:-debian}
password=${MLP_LAB_PASSWORD:-debian}   # the lab image's first user (tests/images/Dockerfile.lab)
src=/srv/mlplatform
venv=/opt/mlplatform-venv
home=$(getent passwd "$operator" | cut -d: -f6)
work=$home/mlplatform

if [ ! -x "$venv/bin/ansible-playbook" ]; then
  echo ">> installing Ansible on the admin host"
  python3 -m venv "$venv"
  # shellcheck disable=SC2046 # one argument per pinned requirement
  "$venv/bin/pip" install -qq $(grep -E '^(ansible|ansible-core|jmespath)==' "$src/requirements.txt")
fi

rsync -a --delete --exclude .git --exclude .venv --exclude artifacts "$src/" "$work/"
chown -R "$operator:" "$work"
cat >"$home/.mlplatform-lab" <<ENV
export PATH="$venv/bin:\$PATH"
export ANSIBLE_CONFIG="$work/ansible.cfg"
export ANSIBLE_INVENTORY="$work/inventory/lab"
cd "$work"
ENV
grep -q mlplatform-lab "$home/.profile" 2>/dev/null || echo '. "$HOME/.mlplatform-lab"' >>"$home/.profile"

as_operator() {
  (cd "$work" && runuser -u "$operator" -- env HOME="$home" PATH="$venv/bin:$PATH" \
    ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_INVENTORY="$work/inventory/lab" \
    ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 "$@")
}

if as_operator ansible all -m ansible.builtin.ping -o >/dev/null 2>&1; then
  echo ">> every host accepts the operator's key: no bootstrap needed"
else
  echo ">> bootstrap over SSH as '$operator' (password)"
  as_operator ansible-playbook playbooks/bootstrap.yml -e "bootstrap_user=$operator" \
    -e "ansible_password=$password" -e "ansible_become_password=$password"
fi

echo ">> site.yml $*"
as_operator ansible-playbook playbooks/site.yml "$@"
