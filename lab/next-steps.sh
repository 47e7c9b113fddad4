#!/usr/bin/env bash
# Printed at the end of `make lab`.
prefix=${MLP_LAB_PREFIX:-mlp-lab}
cat <<TEXT

The lab is up: ${prefix}-{admin,eda,ml,data,prod}, provisioned from the admin host over SSH.

  make lab-shell                      log in on the admin host as the operator, then:
    ansible all -m ping               (inventory/lab is the default there)
    ansible-playbook playbooks/site.yml --check --diff
    ansible-playbook playbooks/deploy_model.yml        (the model service on prod)
    ansible-playbook playbooks/release.yml             (train on ml as alice, serve it on prod)
  https://localhost:${MLP_LAB_HTTPS_PORT:-8443}/           eda:443 (JupyterHub; self-signed certificate)
  http://localhost:${MLP_LAB_HTTP_PORT:-8080}/predict     prod:80 (the model service, once deployed)
  make lab        again: re-provisions (site.yml), keeps the containers
  make lab-down   removes the lab

The admin host works on a copy of this checkout (refreshed by every `make lab`).
TEXT
