#!/usr/bin/env bash
# Regenerate role airflow's constraints files (the maintainers' tool, not run by the tests).
# Airflow is only reproducible when installed with a constraints file, and the upstream one
# (raw.githubusercontent.com) is not reachable from every network: the role ships its own,
# one per tested Debian release's Python, made here by resolving the role's requirements in
# a fresh virtualenv on that release's test image (tests/images/build.sh builds them).
#
#   scripts/airflow-constraints.sh 3.3.2        # after changing airflow_version
set -euo pipefail
version=${1:?usage: $0 AIRFLOW_VERSION}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tests/platforms.env"
out=$here/roles/airflow/files/constraints
mkdir -p "$out"
# The role's requirements (roles/airflow/vars/main.yml, _airflow_requirements), unpinned
# but for Airflow itself: what pip resolves for them is what the file pins.
reqs="apache-airflow[postgres]==$version apache-airflow-providers-fab"
for debian in $MLP_DEBIAN_VERSIONS; do
  py=$(docker run --rm "mlplatform/debian:$debian" python3 -c \
    'import sys; print("%d.%d" % sys.version_info[:2])')
  echo ">> Debian $debian (Python $py)"
  docker run --rm "mlplatform/debian:$debian" bash -euc "
    apt-get -qq update >/dev/null && apt-get -qq install -y python3-venv >/dev/null
    python3 -m venv /tmp/v && /tmp/v/bin/pip install -qq --upgrade pip
    /tmp/v/bin/pip install -qq $reqs
    echo '# apache-airflow $version on Python $py (Debian $debian): scripts/airflow-constraints.sh'
    /tmp/v/bin/pip freeze --all --exclude pip --exclude setuptools --exclude wheel" \
    >"$out/airflow-$version-python$py.txt"
  grep -c '==' "$out/airflow-$version-python$py.txt"
done
