# The Debian side of the node agent's image: a private apt state per architecture (the host's bookworm sources,
# its own package lists and download cache, so the host's apt is never touched and arm64 needs no
# multiarch set-up), the newest version of each package in node-agent/image/packages.txt, and a root filesystem
# unpacked from them the way distroless builds one: `dpkg-deb -x`, no maintainer script, a status.d entry per
# package so scanners and SBOM tools see what is installed. Sourced by tools/image/build.sh; functions only.

IMAGE_PACKAGES="$GNP_ROOT/node-agent/image/packages.txt"

image_packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$IMAGE_PACKAGES" | grep -v '^$'; }

# apt options for ARCH's private state under $GNP_CACHE/image/apt/ARCH.
_apt_opts() {
  local d="$GNP_CACHE/image/apt/$1"
  mkdir -p "$d/lists/partial" "$d/archives/partial"
  [ -f "$d/status" ] || : >"$d/status"
  printf '%s\n' -o "APT::Architecture=$1" -o "APT::Architectures::=$1" -o "Dir::State::Lists=$d/lists" \
    -o "Dir::State::status=$d/status" -o "Dir::Cache=$d" -o "Dir::Cache::archives=$d/archives" \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Languages=none
}
apt_for() { local arch="$1"; shift; local opts; mapfile -t opts < <(_apt_opts "$arch"); apt-get "${opts[@]}" "$@"; }
apt_cache_for() { local arch="$1"; shift; local opts; mapfile -t opts < <(_apt_opts "$arch"); apt-cache "${opts[@]}" "$@"; }

# Refreshes ARCH's package lists from the host's sources, which must be bookworm with bookworm-security.
apt_update() {
  local arch="$1"
  command -v apt-get >/dev/null || die "the image is built from Debian packages: apt-get is needed (a Debian host)"
  apt_for "$arch" update -qq >&2 || die "apt-get update for $arch failed (the host's /etc/apt sources)"
  apt_cache_for "$arch" policy | grep -q 'n=bookworm-security' \
    || die "the host's apt sources lack bookworm-security: the image must get Debian's security updates"
}

# apt_candidates ARCH: one "package version" line per listed package, the version apt would install (the image's
# package lock). One apt-cache call: each costs a second of loading the lists.
apt_candidates() {
  local arch="$1" pkg wanted=()
  while read -r pkg; do wanted+=("$pkg:$arch"); done < <(image_packages)
  apt_cache_for "$arch" policy "${wanted[@]}" | awk -v order="$(image_packages | tr '\n' ' ')" '
    /^[^ ]/ { name = $1; sub(/:$/, "", name); sub(/:[a-z0-9]+$/, "", name) }
    /^  Candidate:/ { candidate[name] = $2 }
    END { n = split(order, wanted, " "); for (i = 1; i <= n; i++) print wanted[i], candidate[wanted[i]] }'
}

# apt_download ARCH DEST: downloads the newest version of every listed package into DEST (cached by file name)
# and prints one "package version" line each (the image's package lock).
apt_download() {
  local arch="$1" dest="$2" pkg version archives="$GNP_CACHE/image/apt/$1/debs"
  mkdir -p "$archives" "$dest"
  local wanted=(); while read -r pkg; do wanted+=("$pkg:$arch"); done < <(image_packages)
  (cd "$archives" && apt_for "$arch" download -qq "${wanted[@]}" >&2) || die "apt-get download failed for $arch"
  while read -r pkg version; do
    local file='' candidate
    # apt-get download writes an epoch's colon as %3a.
    for candidate in "$archives/${pkg}_${version/:/%3a}_"{"$arch",all}.deb; do [ -f "$candidate" ] && file="$candidate"; done
    [ -n "$file" ] || die "$pkg $version ($arch): no .deb downloaded"
    cp "$file" "$dest/"
    printf '%s %s\n' "$pkg" "$version"
  done < <(apt_candidates "$arch")
}

# unpack_debs DEBDIR ROOT: every .deb into ROOT, with /var/lib/dpkg/status.d/<package> (its control stanza, as
# distroless writes it) and <package>.md5sums.
unpack_debs() {
  local debs="$1" root="$2" deb name
  mkdir -p "$root/var/lib/dpkg/status.d"
  for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$root"
    name="$(dpkg-deb -f "$deb" Package)"
    dpkg-deb -f "$deb" >"$root/var/lib/dpkg/status.d/$name"
    dpkg-deb -I "$deb" md5sums >"$root/var/lib/dpkg/status.d/$name.md5sums" 2>/dev/null \
      || rm -f "$root/var/lib/dpkg/status.d/$name.md5sums"
  done
}
