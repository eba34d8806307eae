# Sourced by scripts/start and scripts/test: makes ./.venv with Python 3.11+ and the project in it.
# On a fresh Debian machine the venv module may be missing; as root we install it.
set -euo pipefail

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Indivisible needs Python 3.11 or newer as '$PYTHON' (set PYTHON=... to choose another)." >&2
  exit 1
fi

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "Please install the Debian packages: $* (needs root)." >&2
    exit 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
