#!/usr/bin/env bash
# Prepare this machine to run the lab or the test suite: the one set-up path that
# `make lab`, `make test` (and the other targets that start containers) and `.ci/run` share.
#
#   scripts/prepare-machine.sh [lab|test]     (default: lab)
#
#   lab   a Docker engine that answers, debootstrap (the images are built locally), make,
#         python3 with venv (the project's virtualenv), and the package cache
#   test  the same, plus Debian's chromium and chromium-driver (the jupyterhub scenario's
#         JupyterLab screenshot)
#
# Idempotent: installs only what is missing, starts dockerd only when no engine answers (with
# systemd when it runs, else in the background, as on CI machines without systemd), starts the
# package cache only when it does not answer. Needs root on a Debian or Ubuntu machine, and
# says so otherwise. Set MLP_PREPARE=skip to leave the machine as it is (you prepared it).
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-lab}
case "$purpose" in
  lab | test) ;;
  *) echo "prepare-machine.sh: unknown purpose '$purpose' (expected lab or test)" >&2; exit 2 ;;
esac
if [ "${MLP_PREPARE:-}" = skip ]; then
  echo ">> MLP_PREPARE=skip: the machine is used as it is"
  exit 0
fi

say() { echo ">> $*"; }
die() { echo "prepare-machine.sh: $*" >&2; exit 1; }

# --- the machine: Debian or Ubuntu, as root --------------------------------------------
os_release=${MLP_OS_RELEASE:-/etc/os-release}   # (the tests point it elsewhere)
os_id=unknown os_like=
if [ -r "$os_release" ]; then
  # shellcheck disable=SC1090 # the machine's own file
  os_id=$(. "$os_release" && echo "${ID:-unknown}")
  # shellcheck disable=SC1090
  os_like=$(. "$os_release" && echo "${ID_LIKE:-}")
fi
case " $os_id $os_like " in
  *" debian "* | *" ubuntu "*) ;;
  *) die "this machine is '$os_id', not Debian or Ubuntu: install Docker, debootstrap, make and python3-venv yourself, then run again with MLP_PREPARE=skip" ;;
esac

engine_answers() { docker info >/dev/null 2>&1; }
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

missing=()
command -v docker >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "$purpose" = test ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fi
if ! port_answers 3142 && ! command -v apt-cacher-ng >/dev/null 2>&1 && [ ! -x /usr/sbin/apt-cacher-ng ]; then
  missing+=(apt-cacher-ng)
fi

if [ "${#missing[@]}" -gt 0 ] || ! engine_answers; then
  [ "$(id -u)" = 0 ] || die "run as root (or with sudo): $(
    if [ "${#missing[@]}" -gt 0 ]; then echo "missing ${missing[*]}"; else echo "no Docker engine answers"; fi)"
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- a Docker engine that answers ------------------------------------------------------
if engine_answers; then
  say "the Docker engine answers"
else
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    say "starting the Docker engine (systemd)"
    systemctl enable --now docker.service >/dev/null 2>&1 || systemctl start docker.service || true
  else
    say "starting dockerd (no systemd: in the background, log /var/log/dockerd.log)"
    nohup dockerd >>/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 60); do engine_answers && break; sleep 1; done
  engine_answers || { tail -20 /var/log/dockerd.log 2>/dev/null || true; die "the Docker engine did not start"; }
  say "the Docker engine answers"
fi

# --- the package cache the test containers share (optional) ----------------------------
if [ "$(id -u)" = 0 ]; then
  tests/cache/start.sh || say "no package cache: the containers download directly"
elif port_answers 3142; then
  say "package cache already running on :3142"
else
  say "no package cache (needs root to start): the containers download directly"
fi
