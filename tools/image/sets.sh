# The image toolchain's binary sets: crane (packs and pushes the node agent's OCI image) and syft (writes its
# SBOMs), at the versions the wrapper modules next to this file pin. Sourced by tools/build.sh through load_sets
# (after tools/lib.sh); defines variables and functions only. The set interface is described in tools/build.sh.

GNP_IMAGE_TOOLS="$GNP_ROOT/tools/image"

# The version the wrapper module in tools/image/NAME pins for MODULE (read from go.mod: no Go needed to ask).
_image_pinned() { awk -v m="$2" '$1 == m {print $2; exit}' "$GNP_IMAGE_TOOLS/$1/go.mod"; }
# A short hash of a wrapper module's sources, so a changed go.mod never reuses a stale build.
_image_wrapper_hash() { cat "$GNP_IMAGE_TOOLS/$1/go.mod" "$GNP_IMAGE_TOOLS/$1/go.sum" | sha256sum | cut -c1-8; }

CRANE_VERSION="$(_image_pinned crane github.com/google/go-containerregistry)"
SYFT_VERSION="$(_image_pinned syft github.com/anchore/syft)"

GNP_SETS+=(crane syft)
SET_LABEL[crane]="crane $CRANE_VERSION"
SET_LABEL[syft]="syft $SYFT_VERSION"
# First-build guesses on 2 cores, module download included (docs/local-cluster.md has the measurements).
SET_GUESS[crane]=45; SET_GUESS[syft]=300
SET_DIR[crane]="$(cache_bin_dir crane "$CRANE_VERSION-$(_image_wrapper_hash crane)")"
SET_DIR[syft]="$(cache_bin_dir syft "$SYFT_VERSION-$(_image_wrapper_hash syft)")"

set_missing_crane() { [ -x "${SET_DIR[crane]}/crane" ] || echo crane; }
set_missing_syft() { [ -x "${SET_DIR[syft]}/syft" ] || echo syft; }

# Static, -trimpath and -s -w: small and reproducible, like the other sets.
set_build_crane() {
  (cd "$GNP_IMAGE_TOOLS/crane" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1/crane" \
    github.com/google/go-containerregistry/cmd/crane)
}
set_build_syft() {
  (cd "$GNP_IMAGE_TOOLS/syft" && CGO_ENABLED=0 go build -trimpath -o "$1/syft" \
    -ldflags "-s -w -X main.version=$SYFT_VERSION" github.com/anchore/syft/cmd/syft)
}

# image_tool NAME: the path of the cached crane or syft binary (tools/build.sh crane syft builds them).
image_tool() {
  local path="${SET_DIR[$1]}/$1"
  [ -x "$path" ] || die "$path is missing; run tools/build.sh crane syft"
  printf '%s\n' "$path"
}

GNP_WRAPPERS+=("$GNP_IMAGE_TOOLS/crane" "$GNP_IMAGE_TOOLS/syft")
