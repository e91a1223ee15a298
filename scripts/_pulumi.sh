# Sourced by deploy-local.sh and destroy-local.sh: makes `pulumi` available, installing the CLI
# into the project when it is missing, so a fresh clone needs nothing but Python and curl.
#
# Which CLI: a `pulumi` already on PATH wins (the user's own install); else the project-local one
# in $PULUMI_INSTALL_ROOT/bin (default .pulumi-cli/, git-ignored); else the official installer
# puts the version in .pulumi.version there. The version is pinned so that every machine deploys
# with the CLI the project was tested with, and it matches the SDK release in requirements.lock.
#
# Knobs (environment): PULUMI_INSTALL_ROOT (where to install), PULUMI_INSTALLER_URL (the install
# script; the tests point curl at a stub instead, so they never reach the network).
PULUMI_INSTALL_ROOT="${PULUMI_INSTALL_ROOT:-$PWD/.pulumi-cli}"
PULUMI_INSTALLER_URL="${PULUMI_INSTALLER_URL:-https://get.pulumi.com}"
PULUMI_PINNED_VERSION="$(tr -d '[:space:]' < .pulumi.version)"

pulumi_manual_install_help() {
  cat >&2 <<MSG
Install the Pulumi CLI by hand (version $PULUMI_PINNED_VERSION is the one this project pins),
as https://www.pulumi.com/docs/iac/download-install/ describes, e.g.
  curl -fsSL https://get.pulumi.com | sh -s -- --version $PULUMI_PINNED_VERSION
  brew install pulumi/tap/pulumi          (macOS)
  choco install pulumi                    (Windows)
or download the archive of that version from https://github.com/pulumi/pulumi/releases and put
its pulumi binary on PATH (or in $PULUMI_INSTALL_ROOT/bin), then run this command again.
The tests do not need the CLI: ./scripts/test.sh.
MSG
}

ensure_pulumi() {
  if command -v pulumi >/dev/null 2>&1; then
    return 0
  fi
  if [ -x "$PULUMI_INSTALL_ROOT/bin/pulumi" ]; then
    export PATH="$PULUMI_INSTALL_ROOT/bin:$PATH"
    return 0
  fi
  echo "The Pulumi CLI is not on PATH: installing version $PULUMI_PINNED_VERSION into $PULUMI_INSTALL_ROOT" >&2
  if ! command -v curl >/dev/null 2>&1; then
    echo "Could not install the Pulumi CLI: curl is not installed (the installer is fetched with it)." >&2
    pulumi_manual_install_help
    return 1
  fi
  local installer status=0
  installer="$(mktemp)"
  # Fetched to a file first rather than piped into sh: a cut-off download must not run half a
  # script, and curl's own exit code says what went wrong (6: no DNS, 7: refused, 28: timeout).
  curl -fsSL --retry 2 --connect-timeout 10 --max-time 120 "$PULUMI_INSTALLER_URL" -o "$installer" \
    || status=$?
  if [ "$status" -ne 0 ]; then
    rm -f "$installer"
    echo "Could not install the Pulumi CLI: downloading the installer $PULUMI_INSTALLER_URL failed (curl exit code $status; offline, or a proxy in the way?)." >&2
    pulumi_manual_install_help
    return 1
  fi
  # --no-edit-path: the CLI stays in the project; this script puts it on its own PATH.
  sh "$installer" --version "$PULUMI_PINNED_VERSION" --install-root "$PULUMI_INSTALL_ROOT" \
    --no-edit-path >&2 || status=$?
  rm -f "$installer"
  if [ "$status" -ne 0 ] || [ ! -x "$PULUMI_INSTALL_ROOT/bin/pulumi" ]; then
    echo "Could not install the Pulumi CLI: the installer failed (exit code $status) or left no $PULUMI_INSTALL_ROOT/bin/pulumi; it downloads the CLI from get.pulumi.com, so it needs the network." >&2
    pulumi_manual_install_help
    return 1
  fi
  export PATH="$PULUMI_INSTALL_ROOT/bin:$PATH"
  echo "Installed the Pulumi CLI $PULUMI_PINNED_VERSION in $PULUMI_INSTALL_ROOT/bin" >&2
}
