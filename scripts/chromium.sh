#!/usr/bin/env bash
# Chromium for the browser tests (Playwright drives the system's browser; it never downloads
# its own). `chromium.sh install` installs Debian's package when no chromium is on PATH.
set -euo pipefail

case "${1:-}" in
  install)
    if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq chromium >/dev/null
    fi
    command -v chromium || command -v chromium-browser
    ;;
  *)
    echo "usage: chromium.sh install" >&2
    exit 2
    ;;
esac
