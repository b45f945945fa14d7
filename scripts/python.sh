# Sourced by scripts/setup, test and demo: sets PYTHON to the interpreter that runs
# automator here. That is python3 itself where pip may install into it (a pyenv or a
# virtualenv Python), or .venv beside the checkout where python3 is a distribution's
# own and refuses pip (PEP 668: Debian's /usr/bin/python3). An existing .venv wins.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$root/.venv/bin/python" ]; then
  PYTHON="$root/.venv/bin/python"
elif python3 -c 'import sys, sysconfig, os
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(0 if managed and sys.prefix == sys.base_prefix else 1)'; then
  PYTHON="$root/.venv/bin/python"  # made by scripts/setup
else
  PYTHON="$(command -v python3)"
fi
export PYTHON
