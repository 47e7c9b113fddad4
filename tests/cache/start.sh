#!/usr/bin/env bash
# Start the harness's package cache (apt-cacher-ng on port 3142) unless it already answers.
# Installs it when missing. Without it the tests still work, downloading directly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null; then
  echo ">> package cache already running on :3142"
  exit 0
fi
if ! command -v apt-cacher-ng >/dev/null 2>&1 && [ ! -x /usr/sbin/apt-cacher-ng ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apt-cacher-ng >/dev/null
fi
install -d -o apt-cacher-ng /run/apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
rm -f /run/apt-cacher-ng/pid /run/apt-cacher-ng/socket   # left by a killed instance
runuser -u apt-cacher-ng -- /usr/sbin/apt-cacher-ng -c "$here" ForeGround=0 \
  SocketPath=/run/apt-cacher-ng/socket PidFile=/run/apt-cacher-ng/pid
for _ in $(seq 20); do
  if (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null; then
    echo ">> package cache started on :3142"
    exit 0
  fi
  sleep 0.5
done
echo ">> package cache did not start (see /var/log/apt-cacher-ng)" >&2
exit 1
