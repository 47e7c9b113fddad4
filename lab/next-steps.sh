#!/usr/bin/env bash
# Printed at the end of `make lab` (lab/up.sh): the lab's URLs and what to do next.
# Only prints: the text is a quoted here-document, so nothing in it is ever run (a backquoted
# `make lab` in an unquoted one ran `make lab` again, which printed this again, forever).
set -euo pipefail
prefix=${MLP_LAB_PREFIX:-mlp-lab}
https_port=${MLP_LAB_HTTPS_PORT:-8443}
http_port=${MLP_LAB_HTTP_PORT:-8080}

sed -e "s|@PREFIX@|$prefix|g" -e "s|@HTTPS_PORT@|$https_port|g" -e "s|@HTTP_PORT@|$http_port|g" <<'TEXT'

The lab is up: @PREFIX@-{admin,eda,ml,data,prod} (hosts admin1, eda1, ml1, data1, prod1),
provisioned from the admin host over SSH.

  https://localhost:@HTTPS_PORT@/          JupyterHub on eda1 (self-signed certificate)
  http://localhost:@HTTP_PORT@/health      the model service on prod1, once deployed

  make lab-shell        log in on the admin host as the operator, then:
    ansible all -m ping                                  (inventory/lab is the default there)
    ansible-playbook playbooks/site.yml --check --diff
    ansible-playbook playbooks/deploy_model.yml          (the model service on prod1)
    ansible-playbook playbooks/release.yml               (train on ml1 as alice, serve it on prod1)
    curl -k -u alice:$(cat ~/.config/mlplatform/lab-mlflow-alice-password) \
      https://admin1/api/2.0/mlflow/experiments/search   (MLflow on admin1, alice's lab password)
    curl -k https://admin1:8443/api/v2/monitor/health    (Airflow on admin1; its UI logs in
                                                          alice with lab-airflow-alice-password)
  make lab              again: re-provisions (site.yml), keeps the containers
  make lab-down         removes the lab

The admin host works on a copy of this checkout, refreshed by every `make lab`.
TEXT
