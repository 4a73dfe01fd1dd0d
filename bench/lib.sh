# Shared by the bench scripts.

# hand_command RESULT_JSON SERIAL_LOG: fills the array `hand` with the QEMU
# command line a run recorded, with its console socket turned into a plain
# serial log file and QMP dropped: the same boot, run by hand, as a baseline.
hand_command() {
  local argv a skip=0
  mapfile -t argv < <(jq -r '.command[]' "$1")
  hand=()
  for a in "${argv[@]}"; do
    if [ "$skip" -gt 0 ]; then skip=$((skip - 1)); continue; fi
    case "$a" in
      -chardev|-qmp) skip=1; continue ;;
      -serial) skip=1; hand+=(-serial "file:$2"); continue ;;
    esac
    hand+=("$a")
  done
}

# scratch_of RESULT_JSON: the scratch directory --keep-scratch left (the one
# holding the run's initramfs), or nothing.
scratch_of() {
  local img
  img=$(jq -r '.command[]' "$1" | grep -o '/tmp/blackout-[^/]*/initramfs.cpio.gz' | head -1)
  [ -n "$img" ] && dirname "$img"
}

# Check mode (BENCH_CHECK=1; tests/bench_check.sh runs every script so in the
# unit tier): a script checks its arguments and each run it would make
# (`blackout run --check`, which reads the config, flags, workload and kernel
# name without fetching or booting) and stops before its first real step. A
# renamed flag, workload or config key then fails the build, not a user.
bench_checking() { [ -n "${BENCH_CHECK:-}" ]; }

# bench_run BLACKOUT ARGS...: `BLACKOUT -q run ARGS`; in check mode the run's
# check instead, and a run that does not check ends the script (exit 64).
bench_run() {
  local b=$1
  shift
  if bench_checking; then
    "$b" run --check "$@" >&2 || { echo "bench: this run does not check: blackout run $*" >&2; exit 64; }
    return 0
  fi
  "$b" -q run "$@"
}

# bench_count NAME VALUE: VALUE is a whole number of at least 1, or the
# script stops (exit 64) saying which argument is wrong.
bench_count() {
  case "$2" in
    '' | *[!0-9]* | 0) echo "bench: $1 must be a whole number of at least 1, not '$2'" >&2; exit 64 ;;
  esac
}
