#!/usr/bin/env bash
# Re-fetches the third-party files GraphiQL needs from the npm registry into assets/graphiql/,
# which the binary serves from memory under /graphiql/ (src/http/graphiql.rs): graphiql's UMD
# build and stylesheet, and React's and ReactDOM's production UMD builds, each with its licence.
# The files are copied byte for byte from the registry's tarballs (npm checks each tarball's
# integrity); README.md in that folder records the versions and every file's SHA-256.
#
#   scripts/vendor-graphiql.sh
#
# The versions are pinned here. graphiql 4 and later publish no UMD build (they need a bundler),
# so 3.x is the last line that loads with plain <script> tags; React 18 is the newest React with
# UMD builds. After changing a version: run this, then `cargo test` and `node tests/web/run.mjs`.
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

target=assets/graphiql
work="$(mktemp -d /tmp/bac-vendor-graphiql-XXXXXX)"
trap 'rm -rf "$work"' EXIT

fetch() { # package version -> extracted folder
  local package="$1" version="$2"
  (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
  mkdir -p "$work/$package"
  tar -xzf "$work/$package-$version.tgz" -C "$work/$package"
  echo "$work/$package/package"
}

graphiql="$(fetch graphiql "$GRAPHIQL_VERSION")"
react="$(fetch react "$REACT_VERSION")"
react_dom="$(fetch react-dom "$REACT_VERSION")"

mkdir -p "$target"
cp "$graphiql/graphiql.min.js" "$graphiql/graphiql.min.css" "$target/"
cp "$graphiql/LICENSE" "$target/LICENSE.graphiql"
cp "$react/umd/react.production.min.js" "$target/"
cp "$react/LICENSE" "$target/LICENSE.react"
cp "$react_dom/umd/react-dom.production.min.js" "$target/"
cp "$react_dom/LICENSE" "$target/LICENSE.react-dom"

{
  echo "# Vendored GraphiQL"
  echo
  echo "Third-party files served by the binary at \`/graphiql/\` (see \`src/http/graphiql.rs\`), copied"
  echo "unchanged from the npm registry by \`scripts/vendor-graphiql.sh\`. Do not edit them: change the"
  echo "pinned versions in that script and run it again."
  echo
  echo "| package | version | files | licence |"
  echo "|---|---|---|---|"
  echo "| graphiql | $GRAPHIQL_VERSION | \`graphiql.min.js\`, \`graphiql.min.css\` (UMD build) | MIT, \`LICENSE.graphiql\` |"
  echo "| react | $REACT_VERSION | \`react.production.min.js\` (\`umd/\`) | MIT, \`LICENSE.react\` |"
  echo "| react-dom | $REACT_VERSION | \`react-dom.production.min.js\` (\`umd/\`) | MIT, \`LICENSE.react-dom\` |"
  echo
  echo "\`graphiql-init.js\` and \`graphiql-page.css\` are this project's own: the page's start-up code"
  echo "and layout, kept out of the HTML so the page's Content-Security-Policy can forbid inline"
  echo "scripts and styles."
  echo
  echo "SHA-256 of the vendored files:"
  echo
  echo '```'
  (cd "$target" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js)
  echo '```'
} >"$target/README.md"

echo "vendored graphiql $GRAPHIQL_VERSION and react/react-dom $REACT_VERSION into $target"
