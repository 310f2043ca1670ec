#!/bin/sh
# Installs the prebuilt `electric` binary from a GitHub release:
#
#   curl -fsSL https://raw.githubusercontent.com/electric-ts/electric-ts/main/scripts/install.sh | sh
#
# Picks the asset for this OS and CPU (uname), downloads it with the release's SHA256SUMS,
# verifies the checksum and only then installs it. Nothing is installed when anything fails.
#
# Environment (all optional):
#   ELECTRIC_VERSION        release to install, e.g. 0.2.0 or v0.2.0 (default: the latest)
#   ELECTRIC_INSTALL_DIR    where to put `electric` (default: $HOME/.local/bin)
#   ELECTRIC_REPO           GitHub owner/name to download from
#   ELECTRIC_DOWNLOAD_BASE  base URL of the releases (default: https://github.com/$ELECTRIC_REPO/releases);
#                           files are fetched from $BASE/download/vVERSION/FILE, or
#                           $BASE/latest/download/FILE to find the latest version
#   ELECTRIC_UNAME_S, ELECTRIC_UNAME_M  stand in for `uname -s` / `uname -m` (tests)
#   ELECTRIC_DOWNLOADER     curl or wget (default: whichever is found first)
#
# POSIX sh on purpose (dash, busybox, macOS's sh): `curl … | sh` runs whatever sh is.
set -eu

# The repository slug; change it here once the project has its public home.
REPO="${ELECTRIC_REPO:-electric-ts/electric-ts}"
DOWNLOAD_BASE="${ELECTRIC_DOWNLOAD_BASE:-https://github.com/$REPO/releases}"
INSTALL_DIR="${ELECTRIC_INSTALL_DIR:-${HOME:-}/.local/bin}"
VERSION="${ELECTRIC_VERSION:-latest}"

say() { printf 'electric install: %s\n' "$*" >&2; }
fail() {
  printf 'electric install: error: %s\n' "$*" >&2
  exit 1
}

detect_os() {
  case "${ELECTRIC_UNAME_S:-$(uname -s)}" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      fail "Windows is not supported by this script: download electric-VERSION-windows-x64.exe from https://github.com/$REPO/releases and check it against SHA256SUMS" ;;
    *) fail "unsupported operating system '${ELECTRIC_UNAME_S:-$(uname -s)}': prebuilt binaries exist for Linux, macOS and Windows" ;;
  esac
}

detect_arch() {
  machine="${ELECTRIC_UNAME_M:-$(uname -m)}"
  case "$machine" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "unsupported CPU architecture '$machine': prebuilt binaries exist for x86_64 (x64) and aarch64 (arm64)" ;;
  esac
  # An x64 shell under Rosetta 2 on Apple silicon: the native binary is the better choice.
  if [ "$1" = darwin ] && [ "$arch" = x64 ] && [ -z "${ELECTRIC_UNAME_M:-}" ] &&
    [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    arch=arm64
  fi
  echo "$arch"
}

# The binaries link glibc; on a musl system (Alpine) they would fail with a confusing
# "not found", so say so up front.
check_libc() {
  if [ "$1" = linux ] && [ -z "${ELECTRIC_UNAME_S:-}" ] && ls /lib/ld-musl-* >/dev/null 2>&1 &&
    ! ls /lib*/ld-linux-* /lib/*/ld-linux-* >/dev/null 2>&1; then
    fail "this system uses musl libc (e.g. Alpine) and the prebuilt binaries need glibc: use the Docker image or build from source (scripts/build linux-x64-musl)"
  fi
}

pick_downloader() {
  downloader="${ELECTRIC_DOWNLOADER:-}"
  if [ -z "$downloader" ]; then
    if command -v curl >/dev/null 2>&1; then
      downloader=curl
    elif command -v wget >/dev/null 2>&1; then
      downloader=wget
    else
      fail "neither curl nor wget was found: install one of them and retry"
    fi
  fi
  case "$downloader" in
    curl | wget) command -v "$downloader" >/dev/null 2>&1 || fail "'$downloader' was not found" ;;
    *) fail "unsupported ELECTRIC_DOWNLOADER '$downloader': use curl or wget" ;;
  esac
}

# download URL FILE: fails (returns non-zero) on HTTP errors too.
download() {
  if [ "$downloader" = curl ]; then
    curl -fsSL --retry 3 -o "$2" "$1"
  else
    wget -q -O "$2" "$1"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "neither sha256sum nor shasum was found, so the download cannot be verified"
  fi
}

# The checksum listed for asset $2 in SHA256SUMS file $1 (`sha256sum` format, text or binary mode).
expected_sum() {
  awk -v name="$2" '$2 == name || $2 == ("*" name) { print $1; exit }' "$1"
}

main() {
  os=$(detect_os)
  arch=$(detect_arch "$os")
  check_libc "$os"
  pick_downloader
  target="$os-$arch"

  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t electric-install)
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM

  if [ "$VERSION" = latest ]; then
    say "finding the latest release of $REPO"
    download "$DOWNLOAD_BASE/latest/download/SHA256SUMS" "$tmp/SHA256SUMS" ||
      fail "could not download SHA256SUMS of the latest release from '$DOWNLOAD_BASE/latest/download/SHA256SUMS'"
    # Asset names carry the version: electric-<version>-<os>-<arch>.
    asset=$(awk -v suffix="-$target" '{ n = $2; sub(/^\*/, "", n) }
      n ~ /^electric-/ && substr(n, length(n) - length(suffix) + 1) == suffix { print n; exit }' \
      "$tmp/SHA256SUMS")
    [ -n "$asset" ] || fail "the latest release has no binary for $target"
    version=${asset#electric-}
    version=${version%"-$target"}
  else
    version=${VERSION#v}
    asset="electric-$version-$target"
  fi
  url="$DOWNLOAD_BASE/download/v$version"

  if [ "$VERSION" != latest ]; then
    download "$url/SHA256SUMS" "$tmp/SHA256SUMS" ||
      fail "could not download '$url/SHA256SUMS': is there a release v$version?"
  fi
  expected=$(expected_sum "$tmp/SHA256SUMS" "$asset")
  [ -n "$expected" ] || fail "release v$version has no binary for $target (no '$asset' in SHA256SUMS)"

  say "downloading $asset"
  download "$url/$asset" "$tmp/$asset" || fail "could not download '$url/$asset'"

  actual=$(sha256_of "$tmp/$asset")
  if [ "$actual" != "$expected" ]; then
    fail "checksum mismatch for $asset: expected $expected, got $actual; nothing was installed"
  fi

  chmod 755 "$tmp/$asset"
  mkdir -p "$INSTALL_DIR" || fail "could not create '$INSTALL_DIR'"
  # Copy next to the destination, then rename: a running `electric` is never half-overwritten.
  cp "$tmp/$asset" "$INSTALL_DIR/.electric.tmp.$$" || fail "could not write to '$INSTALL_DIR'"
  mv -f "$INSTALL_DIR/.electric.tmp.$$" "$INSTALL_DIR/electric" ||
    fail "could not install '$INSTALL_DIR/electric'"

  say "installed electric $version ($target) to $INSTALL_DIR/electric"
  case ":${PATH:-}:" in
    *":$INSTALL_DIR:"*) ;;
    *) say "$INSTALL_DIR is not on PATH; add it, e.g.: export PATH=\"$INSTALL_DIR:\$PATH\"" ;;
  esac
}

main "$@"
