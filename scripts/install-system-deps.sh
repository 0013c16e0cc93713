#!/usr/bin/env bash
# Installs the Debian packages the tests, lint and benchmarks need (named-checkzone, named, GNU
# time, shellcheck) when they are missing.
set -euo pipefail

missing=()
command -v named-checkzone >/dev/null 2>&1 || missing+=(bind9-utils)
command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ] || missing+=(bind9)
[ -x /usr/bin/time ] || missing+=(time)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: need root to install ${missing[*]} (apt-get)" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
