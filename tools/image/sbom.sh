# SBOMs of the built image, written by syft from the OCI layout, offline. Sourced by tools/image/build.sh.

# write_sboms OUT ARCH: OUT/ARCH/sbom.spdx.json and OUT/ARCH/sbom.cdx.json of that platform's image.
write_sboms() {
  local out="$1" arch="$2"
  SYFT_CHECK_FOR_APP_UPDATE=false "$SYFT" scan -q "oci-dir:$out/oci" --platform "linux/$arch" \
    --source-name gpu-node-agent --source-version "$AGENT_VERSION" \
    -o "spdx-json=$out/$arch/sbom.spdx.json" -o "cyclonedx-json=$out/$arch/sbom.cdx.json" >&2 \
    || die "syft could not write the $arch SBOMs"
}
