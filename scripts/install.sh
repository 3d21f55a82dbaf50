#!/bin/sh
# Create the virtual environment and install the node with its test tools.
# PyTorch: where this machine keeps a CPU build in a local wheel folder (pip's find-links), the pinned
# CPU wheel is installed first so that no one downloads several GB of CUDA wheels by accident.
set -eu
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "fediverse-node needs Python 3.11 or newer")'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --disable-pip-version-check -e '.[test]'
echo "installed fediverse-node into $VENV"
# The generation worker's PyTorch: the pinned CPU wheel from a local wheel folder when there is one
# (--no-index: never the multi-GB CUDA build from the index). Elsewhere, install it as docs/generation.md says.
if [ "${INSTALL_SKIP_TORCH:-0}" != "1" ] && ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  if $PIP install --quiet --disable-pip-version-check --no-index --no-deps "torch==2.13.0" 2>/dev/null; then
    $PIP install --quiet --disable-pip-version-check "torch==2.13.0"
    echo "installed the CPU build of torch 2.13.0 from the local wheel folder"
  else
    echo "no local CPU torch wheel found: skipped (generation needs it; see docs/generation.md)"
  fi
fi
