# Shared shell helpers for scripts/*. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${WEIR_STATE_DIR:-$ROOT/.weir}"
LOG_DIR="$STATE_DIR/logs"

say() { printf '\033[1m[weir]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[weir] error:\033[0m %s\n' "$*" >&2; exit 1; }

# pnpm through corepack, pinned by package.json's packageManager. Corepack 0.34 cannot verify the
# newest npm signing keys, so integrity-key checks are skipped; the lockfile still pins every package.
ensure_pnpm() {
  export COREPACK_INTEGRITY_KEYS=0 COREPACK_ENABLE_DOWNLOAD_PROMPT=0
  if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version >/dev/null 2>&1; then
    if command -v corepack >/dev/null 2>&1; then
      corepack enable >/dev/null 2>&1 || true
    fi
  fi
  if ! pnpm --version >/dev/null 2>&1; then
    local want
    want="$(node -p "require('$ROOT/package.json').packageManager.split('@')[1]")"
    say "corepack unavailable; installing pnpm@$want with npm"
    npm install -g "pnpm@$want" >/dev/null || die "could not install pnpm@$want"
  fi
}

# Install workspace dependencies once; later calls are a quick no-op unless the lockfile changed.
ensure_deps() {
  ensure_pnpm
  local stamp="$ROOT/node_modules/.weir-installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pnpm-lock.yaml" -nt "$stamp" ]; then
    say "installing dependencies (pnpm install --frozen-lockfile)"
    (cd "$ROOT" && pnpm install --frozen-lockfile) || die "pnpm install failed"
    touch "$stamp"
  fi
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
