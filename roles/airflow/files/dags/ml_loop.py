"""The team's ML loop: train on ML -> quality gate -> deploy on PROD.

Installed by role airflow. Airflow orchestrates, Ansible does the work: each step runs the
command the inventory gives (airflow_ml_loop_steps, in /etc/airflow/ml_loop.json) as the
operator, through /usr/local/lib/airflow/ml-loop-step. The revision train prints last goes
to the gate and the deploy; a failed step stops the loop, so a model that fails the gate
deploys nothing and production stays as it was. Runs on airflow_ml_loop_schedule and on
demand (the UI, or POST /api/v2/dags/ml_loop/dagRuns).
"""

import json
from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with open("/etc/airflow/ml_loop.json", encoding="utf-8") as handle:
    CONFIG = json.load(handle)

RUNNER = CONFIG["step_runner"]
SUDO = f"sudo -n -u {CONFIG['user']} " if CONFIG["user"] else ""
TIMEOUT = timedelta(minutes=CONFIG["step_timeout_minutes"])

with DAG(
    dag_id="ml_loop",
    description="train -> quality gate -> deploy",
    schedule=CONFIG["schedule"] or None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["mlplatform"],
    default_args={"retries": 0, "execution_timeout": TIMEOUT},
) as dag:
    # Its last line of output (the revision) is the task's XCom value.
    train = BashOperator(task_id="train", bash_command=f"{SUDO}{RUNNER} train")
    # The revision reaches the shell as an environment variable, quoted: never as code.
    revision = {"ML_LOOP_REVISION": "{{ ti.xcom_pull(task_ids='train') or '' }}"}
    gate = BashOperator(task_id="gate", bash_command=f'{SUDO}{RUNNER} gate "$ML_LOOP_REVISION"',
                        env=revision, append_env=True)
    deploy = BashOperator(task_id="deploy", bash_command=f'{SUDO}{RUNNER} deploy "$ML_LOOP_REVISION"',
                          env=revision, append_env=True)
    train >> gate >> deploy
