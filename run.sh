#!/usr/bin/env bash
# KD Workbench: one entry script. It sets up what is missing (idempotent), then runs the verb.
#   ./run.sh app        start the Streamlit app on 127.0.0.1 (KDW_PORT, default 8501)
#   ./run.sh test       lint and format check (ruff), then the whole test suite (extra arguments go to pytest)
#   ./run.sh demo       kdw demo: teacher vs baseline vs KD student on digits, in the terminal
#   ./run.sh notebooks  start JupyterLab on the tutorials
#   ./run.sh setup      only install
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.installed"

log() { printf '[run.sh] %s\n' "$*" >&2; }

debian_packages() {
  # Debian packages the verb needs, installed only when running as root on a Debian-like system.
  local wanted=(dataset-fashion-mnist)
  [[ ${1:-} == test ]] && wanted+=(chromium fonts-dejavu-core)
  "$PYTHON" -m venv --help >/dev/null 2>&1 || wanted+=(python3-venv)
  command -v "$PYTHON" >/dev/null 2>&1 || wanted+=(python3 python3-venv)
  local missing=()
  for package in "${wanted[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "missing Debian packages (${missing[*]}); run as root or install them with apt-get"
  fi
}

python_env() {
  # The virtual environment with the project and its extras, reinstalled when pyproject.toml changes.
  [[ -x $VENV/bin/python ]] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  local want
  want=$(sha256sum pyproject.toml | cut -c1-16)
  if [[ ! -f $STAMP || $(cat "$STAMP") != "$want" ]]; then
    log "installing Python packages into $VENV (first time: several minutes, PyTorch is large)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[app,test,notebooks,ray]"
    echo "$want" >"$STAMP"
  fi
}

verb=${1:-}
[[ $# -gt 0 ]] && shift
case "$verb" in
  app)
    debian_packages app; python_env
    # Streamlit's own upload cap follows the app's limit (whole MB, rounded up); a bad value keeps config.toml's.
    upload_cap=()
    if [[ -n ${KDW_UPLOAD_LIMIT_MB:-} ]] && megabytes=$("$VENV/bin/python" -c 'import math, sys
value = float(sys.argv[1]); assert 0.001 <= value <= 10000; print(math.ceil(value))' "$KDW_UPLOAD_LIMIT_MB" 2>/dev/null)
    then
      upload_cap=(--server.maxUploadSize "$megabytes")
    fi
    exec "$VENV/bin/streamlit" run pages/app.py --server.address "${KDW_ADDRESS:-127.0.0.1}" \
      --server.port "${KDW_PORT:-8501}" ${upload_cap[@]+"${upload_cap[@]}"} "$@" ;;
  test)
    debian_packages test; python_env
    "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check --quiet . || { log "ruff: fix the lint/format errors above (ruff check --fix . && ruff format .)"; exit 1; }
    exec "$VENV/bin/python" -m pytest -q "$@" ;;
  demo)
    debian_packages demo; python_env
    exec "$VENV/bin/kdw" demo "$@" ;;
  notebooks)
    debian_packages notebooks; python_env
    as_root=()
    [[ $(id -u) -eq 0 ]] && as_root=(--allow-root)  # a container's only user is often root; Jupyter refuses it unasked
    exec "$VENV/bin/jupyter" lab --ip 127.0.0.1 "${as_root[@]}" notebooks "$@" ;;
  setup)
    debian_packages test; python_env ;;
  *)
    echo "usage: ./run.sh app | test | demo | notebooks | setup" >&2; exit 2 ;;
esac
