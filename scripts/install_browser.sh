#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests, driven by Playwright (its own browser download is not used).
# A no-op when a Chromium is already on PATH or named by DISTRUST_CHROMIUM.
set -euo pipefail
if [ -n "${DISTRUST_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing Debian's chromium for the console's browser tests"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The console's browser tests need Chromium: install it (macOS: brew install --cask chromium) and put" \
  "'chromium' on PATH, or set DISTRUST_CHROMIUM to its executable" >&2
exit 1
