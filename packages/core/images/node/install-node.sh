#!/bin/bash
# Installs Node.js and npm under /usr/local from an npm registry: node from the package node-linux-<arch> (its
# bin/node), npm from the package npm. Every tarball is checked against the registry's sha512 integrity.
# Usage: bash install-node.sh NODE_VERSION NPM_VERSION REGISTRY   (versions: a major such as 22, or exact x.y.z)
set -euo pipefail
node_version=$1 npm_version=$2 registry=${3%/}
work=$(mktemp -d)

case $(dpkg --print-architecture) in
  amd64) arch=x64 ;;
  arm64) arch=arm64 ;;
  *) echo "install-node.sh: no Node.js package for architecture $(dpkg --print-architecture)" >&2; exit 1 ;;
esac

# curl only for this step; libstdc++6 is what the node binary links against.
llm-sandbox-apt-install curl libstdc++6
fetch() { curl -fsSL --retry 3 --connect-timeout 20 "$@"; }

# The newest MAJOR.x.y among the package's versions (keys of its "versions" object), or the exact version given.
resolve() {
  local name=$1 want=$2
  if [[ $want =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then echo "$want"; return; fi
  fetch -H 'Accept: application/vnd.npm.install-v1+json' "$registry/$name" \
    | grep -oE "\"${want//./\\.}\\.[0-9]+\\.[0-9]+\" *: *\\{" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | sort -uV | tail -n 1
}

# Downloads NAME@VERSION, checks its integrity and unpacks its package/ directory into DEST.
unpack() {
  local name=$1 version=$2 dest=$3 meta tarball integrity actual
  meta=$(fetch "$registry/$name/$version")
  tarball=$(grep -oE '"tarball" *: *"[^"]+"' <<<"$meta" | head -n 1 | sed -E 's/.*"([^"]+)"$/\1/')
  integrity=$(grep -oE '"integrity" *: *"sha512-[^"]+"' <<<"$meta" | head -n 1 | sed -E 's/.*"sha512-([^"]+)"$/\1/')
  [[ -n $tarball && -n $integrity ]] || { echo "install-node.sh: no tarball/integrity for $name@$version at $registry" >&2; exit 1; }
  echo "install-node.sh: $name@$version from $tarball"
  fetch -o "$work/$name.tgz" "$tarball"
  actual=$(sha512sum "$work/$name.tgz" | cut -d' ' -f1 | sed 's/../\\x&/g')
  actual=$(printf '%b' "$actual" | base64 -w0)
  [[ $actual == "$integrity" ]] || { echo "install-node.sh: integrity mismatch for $name@$version" >&2; exit 1; }
  mkdir -p "$dest"
  tar -xzf "$work/$name.tgz" -C "$dest" --strip-components=1 --no-same-owner
}

node_exact=$(resolve "node-linux-$arch" "$node_version")
npm_exact=$(resolve npm "$npm_version")
[[ -n $node_exact ]] || { echo "install-node.sh: no node-linux-$arch version matches $node_version" >&2; exit 1; }
[[ -n $npm_exact ]] || { echo "install-node.sh: no npm version matches $npm_version" >&2; exit 1; }

unpack "node-linux-$arch" "$node_exact" "$work/node"
install -m 0755 "$work/node/bin/node" /usr/local/bin/node   # headers and docs are left out: 65 MB nobody here uses
unpack npm "$npm_exact" /usr/local/lib/node_modules/npm
ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx

# Global npm config: no update checks or funding notes in sandbox output; a mirror registry stays in use.
mkdir -p /usr/local/etc
{
  echo "update-notifier=false"
  echo "fund=false"
  if [[ $registry != "https://registry.npmjs.org" ]]; then echo "registry=$registry/"; fi
} >/usr/local/etc/npmrc

apt-get purge -y -q --auto-remove curl
rm -rf "$work" /root/.npm /tmp/node-compile-cache

# Smoke test: versions, and TypeScript through type stripping.
node -v
npm -v
printf 'const x: number = 2;\nenum E { A }\nconsole.log(x, E.A);\n' >"$work.ts"
[[ $(node --experimental-transform-types --disable-warning=ExperimentalWarning "$work.ts") == "2 0" ]]
rm -rf "$work.ts" /tmp/node-compile-cache
