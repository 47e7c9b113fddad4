#!/usr/bin/env bash
# Build the systemd test images locally from Debian's archive; nothing is pulled.
#
#   tests/images/build.sh [--rebuild] [--lab] [--python] [RELEASE ...]   (default: every release
#                                                  of tests/platforms.env)
#
# For each Debian version: debootstrap (minbase + python3, sudo) -> `docker import` as
# mlplatform/debian-rootfs:<v> -> `docker build` of tests/images/Dockerfile as
# mlplatform/debian:<v> (systemd, extra trusted CAs). With --lab, also mlplatform/lab:<v>
# (Dockerfile.lab: sshd and a sudo user with a password, for the five-host lab). With
# --python, also mlplatform/python:<v> (Dockerfile.python: the model service's base image),
# saved to $MLP_CACHE_DIR/images/mlplatform-python-<v>.tar for the nested engines. An image is
# rebuilt only when its inputs change (Dockerfile, CA bundle, mirror, base image), recorded
# in the label org.mlplatform.inputs.
#
# Environment:
#   MLP_DEBIAN_MIRROR           archive for debootstrap and apt (default http://deb.debian.org/debian)
#   MLP_DEBIAN_SECURITY_MIRROR  security archive (default http://deb.debian.org/debian-security)
#   MLP_CACHE_DIR               where saved images go (default /var/cache/mlplatform)
#   MLP_EXTRA_CA_BUNDLE         PEM bundle whose certificates the images must trust
#                               (default: this machine's /etc/ssl/certs/ca-certificates.crt)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/platforms.env
. "$here/../platforms.env"   # MLP_DEBIAN_VERSIONS: the releases tested, built by default
mirror=${MLP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${MLP_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
ca_bundle=${MLP_EXTRA_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
cache_dir=${MLP_CACHE_DIR:-/var/cache/mlplatform}
rebuild=0
lab=0
python=0
versions=()
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

for arg in "$@"; do
  case "$arg" in
    --rebuild) rebuild=1 ;;
    --lab) lab=1 ;;
    --python) python=1 ;;
    --*) echo "build.sh: unknown option '$arg' (expected --rebuild, --lab, --python)" >&2; exit 2 ;;
    *)
      case " $MLP_DEBIAN_VERSIONS " in
        *" $arg "*) versions+=("$arg") ;;
        *) echo "build.sh: '$arg' is not a tested Debian release (tests/platforms.env: $MLP_DEBIAN_VERSIONS)" >&2; exit 2 ;;
      esac ;;
  esac
done
# shellcheck disable=SC2206 # the list is space separated
[ "${#versions[@]}" -gt 0 ] || versions=($MLP_DEBIAN_VERSIONS)

suite_of() { # Debian release -> suite name (a lookup; the tested releases are platforms.env's)
  case "$1" in
    12) echo bookworm ;;
    13) echo trixie ;;
    *) echo "build.sh: no suite name known for Debian $1" >&2; return 1 ;;
  esac
}

build_rootfs() { # version suite
  local version=$1 suite=$2 dir
  if [ "$rebuild" = 0 ] && docker image inspect "mlplatform/debian-rootfs:$version" >/dev/null 2>&1; then
    return 0
  fi
  dir=$(mktemp -d /var/tmp/mlp-rootfs.XXXXXX)
  scratch+=("$dir")
  echo ">> debootstrap $suite from $mirror"
  debootstrap --variant=minbase --include=python3,sudo "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 \
    || { tail -30 "$dir.log" >&2; rm -f "$dir.log"; return 1; }
  rm -f "$dir.log"
  cat >"$dir/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import - "mlplatform/debian-rootfs:$version" >/dev/null
}

build_layer() { # image dockerfile base-image [extra-input]
  local image=$1 dockerfile=$2 base=$3 extra=${4:-} ctx inputs current
  ctx=$(mktemp -d)
  scratch+=("$ctx")
  cp "$here/$dockerfile" "$ctx/Dockerfile"
  cp "$here/add_extra_cas.py" "$here/apt-proxy-detect" "$ctx/"
  if [ -r "$ca_bundle" ]; then cp "$ca_bundle" "$ctx/extra-ca-bundle.pem"; else : >"$ctx/extra-ca-bundle.pem"; fi
  inputs=$( (cat "$ctx"/*; echo "$extra"; docker image inspect -f '{{ .Id }}' "$base" 2>/dev/null) \
    | sha256sum | cut -c1-16)
  current=$(docker image inspect -f '{{ index .Config.Labels "org.mlplatform.inputs" }}' "$image" 2>/dev/null || true)
  if [ "$rebuild" = 0 ] && [ "$current" = "$inputs" ]; then
    echo ">> $image is up to date ($inputs)"
    return 0
  fi
  echo ">> building $image"
  DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$base" \
    --label "org.mlplatform.inputs=$inputs" -t "$image" "$ctx" >"$ctx.log" 2>&1 \
    || { tail -30 "$ctx.log" >&2; rm -f "$ctx.log"; return 1; }
  rm -f "$ctx.log"
}

build_image() { # version
  local version=$1 suite
  suite=$(suite_of "$version")
  build_rootfs "$version" "$suite"
  build_layer "mlplatform/debian:$version" Dockerfile "mlplatform/debian-rootfs:$version" "$mirror $security $suite"
  if [ "$lab" = 1 ]; then
    build_layer "mlplatform/lab:$version" Dockerfile.lab "mlplatform/debian:$version"
  fi
  if [ "$python" = 1 ]; then
    build_layer "mlplatform/python:$version" Dockerfile.python "mlplatform/debian-rootfs:$version" "$mirror $suite"
    save_image "mlplatform/python:$version" "$cache_dir/images/mlplatform-python-$version.tar"
  fi
}

save_image() { # image tar -- rewritten only when the image changed (its id is kept beside it)
  local image=$1 tar=$2 id
  id=$(docker image inspect -f '{{ .Id }}' "$image")
  if [ -s "$tar" ] && [ "$(cat "$tar.id" 2>/dev/null)" = "$id" ]; then
    return 0
  fi
  echo ">> saving $image to $tar"
  mkdir -p "$(dirname "$tar")"
  docker save -o "$tar.tmp" "$image"
  mv "$tar.tmp" "$tar"
  echo "$id" >"$tar.id"
}

for version in "${versions[@]}"; do
  build_image "$version"
done
