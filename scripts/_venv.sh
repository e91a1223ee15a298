# Sourced by the scripts: a project virtualenv with the package (editable, with its langchain
# extra) and the `dev` dependency group from pyproject.toml.
# Re-installs only when pyproject.toml changed since the last install.
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  # Dependency groups (PEP 735) need pip 25.1 or newer; `python3 -m venv` brings the pip that
  # came with Python (23.2 with Python 3.11), so upgrade it first.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=25.1'
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[langchain]" \
    --group dev
  touch "$VENV/.installed"
fi
