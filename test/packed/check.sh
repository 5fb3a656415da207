#!/usr/bin/env bash
# What a user gets from npm, checked: the five packages packed and installed from their tarballs into an empty project
# outside the repository (with the peers they declare, from the registry); a file importing every public entry
# type-checked with skipLibCheck false; the READMEs' runnable examples run on Node 22 against the real engine.
# Run it with `npm run test:packed` (npm puts the repository's pinned Node 22 first on PATH), after `npm run setup`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/test/packed"
work=$(mktemp -d "${TMPDIR:-/tmp}/llm-sandbox-packed.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A signal ends the script through `exit`, so the EXIT trap above removes the directory then too.
trap 'exit 130' INT
trap 'exit 143' TERM
# `npm run` points nested npm commands at the repository; the project below is a project of its own.
unset npm_config_local_prefix

step() { printf '[packed] %s (at %d s)\n' "$1" "$SECONDS"; }

[[ $(node -p 'process.versions.node.split(".")[0]') == 22 ]] || { echo "[packed] needs Node 22, found $(node --version): run npm run test:packed" >&2; exit 1; }

step "building and packing the five packages"
(cd "$repo" && npx turbo run build --output-logs=errors-only >/dev/null)
mkdir "$work/tarballs" "$work/project"
for pkg in core langchain ai-sdk openai mcp; do
  npm pack --silent --pack-destination "$work/tarballs" "$repo/packages/$pkg" >/dev/null
done

# Every peer the packages declare, at their declared ranges, but @kubernetes/client-node: optional, only for the
# Kubernetes backend, so the type-check also proves that core's types do not need it.
peers=$(cd "$repo/packages" && node -e '
  const peers = ["core", "langchain", "ai-sdk", "openai", "mcp"].flatMap((pkg) => Object.entries(require(`./${pkg}/package.json`).peerDependencies ?? {}));
  console.log(peers.filter(([name]) => name !== "@kubernetes/client-node").map(([name, range]) => `${name}@${range}`).join(" "));')

step "installing the tarballs and their peers ($peers) in an empty project"
cd "$work/project"
cat > package.json <<'JSON'
{ "name": "packed-check", "private": true, "type": "module" }
JSON
# shellcheck disable=SC2086 # $peers is a list of words
# --prefer-offline: what `npm ci` of the repository cached (the same peers, mostly) is not fetched again.
npm install --no-audit --no-fund --prefer-offline --loglevel=error "$work"/tarballs/*.tgz $peers "@types/node@^22" >/dev/null

step "type-checking every public entry with skipLibCheck false"
cp "$here/imports.ts" .
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "es2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "strict": true,
    "skipLibCheck": false,
    "noEmit": true,
    "types": ["node"]
  },
  "files": ["imports.ts"]
}
JSON
"$repo/node_modules/.bin/tsc" -p .

step "running the READMEs' runnable examples on Node $(node --version)"
node "$here/readme-examples.mjs" "$repo"
step "done"
