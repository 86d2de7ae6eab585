#!/usr/bin/env bash
# Install the named Debian packages that are not installed yet.
# Uses apt-get as root, or passwordless sudo; otherwise says exactly what to run.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "heron: these packages are needed but this is not a Debian/Ubuntu system: ${missing[*]}" >&2
  echo "heron: install their equivalents (Prometheus 2.42+ with promtool, Redis 7) and run again." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "heron: missing Debian packages: ${missing[*]}" >&2
  echo "heron: run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "heron: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
