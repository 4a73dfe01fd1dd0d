#!/usr/bin/env bash
# The nested Xen host the e2e_xen_host_* tests run on: `blackout xen-host`
# (Xen, a Debian dom0, libvirtd with its libxl driver) serving libvirt on
# 127.0.0.1:$XEN_HOST_PORT, started in the background and stopped after.
#
#   xen_host_fixture.sh BLACKOUT start   boot it; return once libvirt answers
#   xen_host_fixture.sh BLACKOUT stop    stop it (SIGTERM: blackout stops QEMU)
set -uo pipefail
BLACKOUT=${1:?usage: $0 path/to/blackout start|stop}
PORT=${XEN_HOST_PORT:-16600}
dir=/tmp/blackout-e2e-xen-host
case "${2:-}" in
  start)
    "$0" "$BLACKOUT" stop > /dev/null
    mkdir -p "$dir"
    setsid "$BLACKOUT" xen-host --port "$PORT" --console "$dir/console.log" > "$dir/out" 2> "$dir/err" &
    echo $! > "$dir/pid"
    for _ in $(seq 1 1800); do
      if grep -q '^ready: ' "$dir/out"; then
        cat "$dir/out"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2> /dev/null; then break; fi
      sleep 0.5
    done
    echo "FAIL: the Xen host did not come up" >&2
    cat "$dir/out" >&2
    tail -n 30 "$dir/err" "$dir/console.log" >&2
    "$0" "$BLACKOUT" stop > /dev/null
    exit 1
    ;;
  stop)
    pid=$(cat "$dir/pid" 2> /dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
      kill -9 -- "-$pid" 2> /dev/null || true
    fi
    rm -rf "$dir"
    echo "stopped"
    ;;
  *)
    echo "usage: $0 path/to/blackout start|stop" >&2
    exit 64
    ;;
esac
