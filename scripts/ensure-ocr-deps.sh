#!/usr/bin/env bash
# Make sure Tesseract OCR (and its English data) exists: tests/test_masks_ocr.py reads the
# bot's failure screenshots with it, to prove the new password is not legible there.
# As root with apt-get, installs it; otherwise explains.
set -euo pipefail

say() { echo "ensure-ocr-deps: $*"; }

have_tesseract() {
    command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx eng
}

if have_tesseract; then
    say "ok (tesseract, eng)"
    exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "missing tesseract; installing with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # 'tesseract-ocr' brings the engine and 'tesseract-ocr-eng', the English data.
    pkgs=(tesseract-ocr tesseract-ocr-eng)
    apt-get update -qq || { sleep 5; apt-get update -qq; }
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    have_tesseract || { echo "ensure-ocr-deps: ERROR: install finished but tesseract still missing" >&2; exit 1; }
    say "ok (installed ${pkgs[*]})"
    exit 0
fi

cat >&2 <<MSG
ensure-ocr-deps: ERROR: tesseract (with English data) is missing.
  The masking tests read screenshots with it. Install:
    Debian/Ubuntu: sudo apt-get install tesseract-ocr tesseract-ocr-eng
    Fedora:        sudo dnf install tesseract tesseract-langpack-eng
MSG
exit 1
