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
