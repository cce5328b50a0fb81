#!/bin/sh
# Rebuild src/replicate/resources/libreoffice/{en-ru,en-de,en-es}.tsv.gz and MANIFEST.json from Debian's
# LibreOffice help packages (MPL-2.0). Needs apt-get and dpkg (Debian/Ubuntu, or a debian container); no root:
# `apt-get download` fetches the .deb files into the current folder and `dpkg -x` unpacks them (nothing is installed).
# A rebuild on another Debian release may differ in counts; the manifest records the release and package versions.
#   usage: sh scripts/build_libreoffice_corpus.sh [OUT_DIR]
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/src/replicate/resources/libreoffice}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
VERSIONS="{"
for pkg in en-us ru de es; do
  apt-get download "libreoffice-help-$pkg"
  deb=$(ls libreoffice-help-"$pkg"_*.deb)
  ver=$(dpkg-deb -f "$deb" Version)
  lang=$pkg; [ "$pkg" = en-us ] && lang=en
  mkdir -p "root/$lang" && dpkg -x "$deb" "root/$lang"
  VERSIONS="$VERSIONS\"libreoffice-help-$pkg\": \"$ver\", "
done
VERSIONS="${VERSIONS%, }}"
RELEASE="Debian $(cat /etc/debian_version 2>/dev/null || echo unknown) ($(. /etc/os-release && echo "${VERSION_CODENAME:-}"))"
PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}" python3 -m replicate.data.libreoffice \
  --root "$WORK/root" --langs ru de es --out "$OUT" --versions "$VERSIONS" --release "$RELEASE"
echo "wrote $OUT"
