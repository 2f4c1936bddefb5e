#!/usr/bin/env bash
# Install the Debian packages `make test` needs on a fresh Debian 12 machine (as root).
# Installs only what is missing, so it costs nothing on a prepared machine.
set -euo pipefail
missing=()
command -v git >/dev/null || missing+=(git)
command -v python3 >/dev/null || missing+=(python3)
# Debian splits venv/ensurepip out of python3; `python3 -m venv` fails without it.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2; exit 1; fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
