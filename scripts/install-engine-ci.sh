#!/usr/bin/env bash
# A hosted CI runner (GitHub's ubuntu images) gets one engine the way runners usually do:
# Playwright's own Chromium/Firefox builds with their system dependencies, and WebKitGTK's
# WebDriver from apt (Playwright's WebKit build cannot be told a cookie policy, see
# docs/engines.md). nginx for the proxy scenarios. On this project's own Debian machines use
# `make engines` (scripts/install-engines.sh) instead: no browser CDN is reachable there.
#   scripts/install-engine-ci.sh chromium|firefox|webkit
set -euo pipefail
engine=${1:?engine}
PYTHON=${PYTHON:-.venv/bin/python}
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx
case "$engine" in
  chromium|firefox) "$PYTHON" -m playwright install --with-deps "$engine" ;;
  webkit) $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q webkit2gtk-driver xvfb ;;
  *) echo "install-engine-ci: unknown engine '$engine' (chromium, firefox, webkit)" >&2; exit 2 ;;
esac
