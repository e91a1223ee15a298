# Sourced by the scripts: a project virtualenv with everything pyproject.toml declares.
# Re-installs only when pyproject.toml changed since the last install.
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
  touch "$VENV/.installed"
fi
