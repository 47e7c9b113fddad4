#!/usr/bin/env bash
# Benchmark: the deployed model service (nginx -> gunicorn/uvicorn containers, role
# model_service) against the same model served the way such services are often first
# written -- a plain Flask app on Flask's development server (bench/devserver_app.py,
# `app.run`) -- on the same host, in the same run.
#
#   bench/model_service.sh [HOST_CONTAINER]
#
# HOST_CONTAINER is a container where the service is deployed (default: the instance of the
# model_service Molecule scenario, created and converged here when it does not exist; it is
# left running -- `cd roles/model_service && molecule destroy` removes it). The load
# generator is wrk, inside that host: 32 connections (MLP_BENCH_CONNECTIONS), 2 threads,
# MLP_BENCH_SECONDS (default 20) after a 3 s warm-up, one iris row per POST /predict. Both
# servers are published on the host and addressed at its network address, as clients on
# other machines reach them (through Docker's NAT rules; 127.0.0.1 would put Docker's
# userland proxy in the path). The dev server runs in an image made from the deployed one
# (same Python, libraries and model file) with Flask added, built on the host (its pip
# trusts the host's CA bundle).
# Prints requests/s, p50/p99 latency and errors of both, the ratio, and the time of a
# one-row predict in the service's container (bench/predict_path.py).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
host=${1:-mlp-model_service-debian12}
connections=${MLP_BENCH_CONNECTIONS:-32}
seconds=${MLP_BENCH_SECONDS:-20}
dev_port=5000

if ! docker inspect "$host" >/dev/null 2>&1; then
  echo ">> converging the model_service scenario ($host)" >&2
  (cd "$root/roles/model_service" && MLP_ROLE=model_service molecule converge >/dev/null)
fi
in_host() { docker exec "$host" "$@"; }

read -r container image < <(in_host sh -c \
  "docker ps --filter label=org.mlplatform.release --format '{{.Names}} {{.Image}}' | head -1") || true
[ -n "${image:-}" ] || { echo "no model service deployed on $host" >&2; exit 1; }
in_host sh -c 'command -v wrk >/dev/null && command -v curl >/dev/null \
  || { apt-get update -qq && apt-get install -y -qq wrk curl >/dev/null; }'
docker exec -i "$host" sh -c 'cat > /tmp/predict.lua' <<'LUA'
wrk.method = "POST"
wrk.body = "[5.9, 3.0, 4.2, 1.5]"
wrk.headers["Content-Type"] = "application/json"
LUA

# The development server: the deployed image (model, Python, libraries) plus Flask.
in_host rm -rf /tmp/mlp-bench && in_host mkdir -p /tmp/mlp-bench
docker cp "$root/bench/devserver_app.py" "$host:/tmp/mlp-bench/devserver_app.py"
in_host cp /etc/ssl/certs/ca-certificates.crt /tmp/mlp-bench/ca.pem
docker exec -i "$host" sh -c 'cat > /tmp/mlp-bench/Dockerfile' <<DOCKERFILE
FROM $image
USER root
COPY ca.pem devserver_app.py /srv/bench/
RUN PIP_CERT=/srv/bench/ca.pem pip install --no-cache-dir --disable-pip-version-check flask==3.1.3
USER model
CMD ["python", "/srv/bench/devserver_app.py"]
DOCKERFILE
in_host docker build -q -t mlp-bench-devserver /tmp/mlp-bench >/dev/null
in_host docker rm -f mlp-bench-devserver >/dev/null 2>&1 || true
in_host docker run -d --name mlp-bench-devserver -p "$dev_port:$dev_port" \
  -e PORT="$dev_port" mlp-bench-devserver >/dev/null
trap 'in_host docker rm -f mlp-bench-devserver >/dev/null 2>&1 || true' EXIT
address=$(in_host hostname -i | awk '{print $1}')
for _ in $(seq 30); do
  in_host curl -fsS -o /dev/null -H 'Content-Type: application/json' -d '[5.9, 3.0, 4.2, 1.5]' \
    "http://$address:$dev_port/predict" 2>/dev/null && break
  sleep 1
done

run() { # name url -> "name rps p50_ms p99_ms errors requests"
  local name=$1 url=$2 out
  answer=$(in_host curl -fsS -H 'Content-Type: application/json' -d '[5.9, 3.0, 4.2, 1.5]' "$url")
  [[ "$answer" == *'"prediction":1'* ]] || { echo "$name answered $answer" >&2; exit 1; }
  in_host wrk -t2 -c"$connections" -d3s -s /tmp/predict.lua "$url" >/dev/null
  out=$(in_host wrk -t2 -c"$connections" -d"${seconds}s" --latency -s /tmp/predict.lua "$url")
  echo "$out" | awk -v name="$name" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /requests in/ { requests = $1 }
    /Requests\/sec/ { rps = $2 }
    /Socket errors/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx/ { errors += $NF }
    END { printf "%s %.1f %.2f %.2f %d %d\n", name, rps, p50, p99, errors, requests }'
}

dev=$(run dev-server "http://$address:$dev_port/predict")
deployed=$(run deployment "http://$address:80/predict")

echo "model service benchmark: $connections connections, ${seconds}s, host $host ($(in_host nproc) CPUs), $(in_host docker exec mlp-bench-devserver python -c 'import platform; print("Python", platform.python_version())')"
printf '%-12s %10s %9s %9s %7s %9s\n' target "req/s" "p50 ms" "p99 ms" errors requests
for line in "$dev" "$deployed"; do
  # shellcheck disable=SC2086 # the fields are words
  printf '%-12s %10s %9s %9s %7s %9s\n' $line
done
awk -v a="$(echo "$deployed" | cut -d' ' -f2)" -v b="$(echo "$dev" | cut -d' ' -f2)" \
  'BEGIN { printf "throughput ratio (deployment / dev server): %.1fx\n", a / b }'
docker exec -i "$host" docker exec -i "$container" env -u PROMETHEUS_MULTIPROC_DIR python - \
  < "$root/bench/predict_path.py"
