#!/usr/bin/env bash
# How long provisioning the five-host lab takes, as its operator runs it on the admin host:
#
#   bench/provision.sh [--fresh] [RUNS]
#
#   --fresh   first remove the lab and time `make lab`'s path from nothing (lab/up.sh: the
#             containers, the bootstrap over SSH with a password, site.yml);
#   RUNS      how many idempotent site.yml runs and --check --diff runs to time (default 3).
#
# Then prints, for each kind of run, every run's wall time, the median, the hosts' total
# "changed" count, and the machine's busy CPU seconds during the run (all cores: the lab's
# containers share them with the controller), and the per-role profile of the last
# idempotent run (ansible.posix.profile_roles). A benchmark, not a test: it asserts nothing.
# Needs the lab (make lab) unless --fresh, and the project's virtualenv for --fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
fresh=0 runs=3
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=1 ;;
    [0-9]*) runs=$arg ;;
    *) echo "provision.sh: unknown argument '$arg' (expected --fresh or a number of runs)" >&2; exit 2 ;;
  esac
done
prefix=${MLP_LAB_PREFIX:-mlp-lab}
admin="$prefix-admin"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
now() { date +%s.%N; }
ticks=$(getconf CLK_TCK)

timed() { # label logfile command...: run it, print a row "label wall changed busy_cpu"
  local label=$1 log=$2 t0 b0 t1 b1 changed
  shift 2
  t0=$(now) b0=$(busy)
  "$@" >"$log" 2>&1 || { echo "provision.sh: '$label' failed, see the output below" >&2; tail -30 "$log" >&2; exit 1; }
  t1=$(now) b1=$(busy)
  # the five hosts' lines of site.yml's recap (for the fresh run, as lab/up.sh shows them)
  changed=$(grep -aE "(admin1|data1|eda1|ml1|prod1) +: ok=" "$log" | tail -n 5 | grep -oE ' changed=[0-9]+' \
    | cut -d= -f2 | paste -sd+ | bc)
  printf '%s %.1f %s %.1f\n' "$label" "$(echo "$t1 - $t0" | bc)" "${changed:-?}" "$(echo "($b1 - $b0) / $ticks" | bc -l)"
}

on_admin() { # ansible-playbook options: site.yml in the operator's login shell on the admin host
  docker exec "$admin" runuser -l debian -c "ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_roles ansible-playbook playbooks/site.yml $*"
}

rows=()
if [ "$fresh" = 1 ]; then
  # shellcheck source=/dev/null
  . .venv/bin/activate
  # shellcheck source=tests/platforms.env
  . tests/platforms.env
  export MLP_DEBIAN=${MLP_DEBIAN:-$MLP_LAB_DEBIAN}
  molecule destroy -s lab >/dev/null 2>&1
  rows+=("$(timed fresh "$out/fresh.log" lab/up.sh)")
fi
docker exec "$admin" true 2>/dev/null || { echo "provision.sh: no lab (container $admin): run make lab, or --fresh" >&2; exit 1; }
# The admin host works on a copy of the checkout: refresh it, as make lab does.
docker exec "$admin" sh -c 'rsync -a --delete --exclude .git --exclude .venv --exclude artifacts /srv/mlplatform/ /home/debian/mlplatform/ && chown -R debian: /home/debian/mlplatform'
for i in $(seq "$runs"); do rows+=("$(timed idempotent "$out/idempotent.log" on_admin)"); done
for i in $(seq "$runs"); do rows+=("$(timed check "$out/check.log" on_admin --check --diff)"); done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo
echo "Provisioning the five-host lab ($(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
printf '%-11s %-28s %8s %8s %14s\n' run "wall seconds (each)" median changed "busy CPU s"
for kind in fresh idempotent check; do
  mapfile -t mine < <(printf '%s\n' "${rows[@]}" | awk -v k="$kind" '$1 == k')
  [ "${#mine[@]}" -gt 0 ] || continue
  walls=$(printf '%s\n' "${mine[@]}" | awk '{printf "%s ", $2}')
  printf '%-11s %-28s %8s %8s %14s\n' "$kind" "$walls" "$(printf '%s\n' "${mine[@]}" | awk '{print $2}' | median)" \
    "$(printf '%s\n' "${mine[@]}" | awk '{printf "%s ", $3}')" "$(printf '%s\n' "${mine[@]}" | awk '{print $4}' | median)"
done
echo
echo "Per role, last idempotent run (seconds the role's tasks took, hosts side by side):"
sed -n '/ROLES RECAP/,/^total/p' "$out/idempotent.log" | grep -E -- '-{3,}|^total' | sed -E 's/ -+ / /; s/^/  /'
