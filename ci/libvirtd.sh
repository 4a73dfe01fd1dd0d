#!/usr/bin/env bash
# Starts and stops this machine's libvirt daemons (virtlogd, libvirtd) for
# blackout's libvirt backend, where no service manager runs them (a container,
# a CI machine; Debian 12 has no modular daemons). The e2e tests' libvirtd
# fixture runs `start` before the libvirt tests and `stop` after them.
#
#   ci/libvirtd.sh start   start what is not running; note what we started
#   ci/libvirtd.sh stop    stop only what `start` started
#   ci/libvirtd.sh status  exit 0 when qemu:///system answers
#
# A libvirtd that was already running (systemd's) is used and left alone.
set -euo pipefail
state=/run/blackout-libvirtd.started
answers() { timeout 10 virsh -c qemu:///system version >/dev/null 2>&1; }
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case "${1:-}" in
  start)
    if answers; then
      echo "libvirtd already answers on qemu:///system"
      exit 0
    fi
    : > "$state.new"
    if ! running /run/virtlogd.pid; then
      virtlogd -d
      echo virtlogd >> "$state.new"
    fi
    if ! running /run/libvirtd.pid; then
      libvirtd -d
      echo libvirtd >> "$state.new"
    fi
    mv "$state.new" "$state"
    for _ in $(seq 1 100); do
      if answers; then
        echo "started: $(tr '\n' ' ' < "$state")"
        exit 0
      fi
      sleep 0.1
    done
    echo "libvirtd does not answer on qemu:///system; its log:" >&2
    tail -n 20 /var/log/libvirt/libvirtd.log 2>/dev/null >&2 || true
    exit 1
    ;;
  stop)
    [ -f "$state" ] || { echo "nothing started by ci/libvirtd.sh start"; exit 0; }
    # libvirtd first: it holds virtlogd's log files open.
    for d in libvirtd virtlogd; do
      grep -qx "$d" "$state" || continue
      pid=$(cat "/run/$d.pid" 2>/dev/null || true)
      [ -n "$pid" ] || continue
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
    rm -f "$state"
    echo "stopped"
    ;;
  status)
    answers
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 64
    ;;
esac
