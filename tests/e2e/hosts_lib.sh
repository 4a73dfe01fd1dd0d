# Test-only libvirt "hosts" on this machine: each is a libvirtd in its own
# network namespace (a veth pair, 10.231.N.1 here and 10.231.N.2 there), its
# own mount namespace (its own /run/libvirt, /var/lib/libvirt, /etc/libvirt,
# so its own storage pool and domains) and its own hostname (blackout-hN).
# It listens on qemu+tcp://10.231.N.2/system with test-only auth (none);
# its unix socket stays reachable from here for checks.
# Sourced after lib.sh; hosts_cleanup runs from its EXIT trap.

HOSTS_UP=""
host_uri() { echo "qemu+tcp://10.231.$1.2/system"; }
host_local_uri() { echo "qemu+unix:///system?socket=$T/h$1/run/libvirt-sock"; }
host_ns() { echo "blackout-h$1-$$"; }

host_up() {
  local n=$1 ns d
  ns=$(host_ns "$n")
  d="$T/h$n"
  mkdir -p "$d/run" "$d/lib" "$d/log" "$d/cache" "$d/etc"
  cp -a /etc/libvirt/. "$d/etc/"
  rm -rf "$d/etc/qemu/networks/autostart" "$d/etc/storage"
  cat > "$d/etc/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "10.231.$n.2"
auth_tcp = "none"
unix_sock_group = "root"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  # No virtlogd in a test host: QEMU's output goes to a file.
  echo 'stdio_handler = "file"' >> "$d/etc/qemu.conf"
  # The mount points (a machine that never ran libvirtd has no /run/libvirt).
  mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
  ip netns add "$ns" || fail "ip netns add $ns"
  HOSTS_UP="$HOSTS_UP $n"
  ip link add "bo$n-$$" type veth peer name "bo$n-$$p" || fail "veth for host $n"
  ip link set "bo$n-$$p" netns "$ns"
  ip addr add "10.231.$n.1/24" dev "bo$n-$$"
  ip link set "bo$n-$$" up
  ip netns exec "$ns" ip addr add "10.231.$n.2/24" dev "bo$n-$$p"
  ip netns exec "$ns" ip link set "bo$n-$$p" up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" unshare --mount --uts --propagation private sh -c "
    hostname blackout-h$n
    mount --bind '$d/run' /run/libvirt
    mount --bind '$d/lib' /var/lib/libvirt
    mount --bind '$d/log' /var/log/libvirt
    mount --bind '$d/cache' /var/cache/libvirt
    mount --bind '$d/etc' /etc/libvirt
    exec libvirtd --listen --pid-file /run/libvirt/libvirtd.pid
  " > "$d/libvirtd.out" 2>&1 &
  disown $!  # hosts_cleanup kills it; no job notice
  for _ in $(seq 1 100); do
    if timeout 5 virsh -c "$(host_uri "$n")" hostname >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  cat "$d/libvirtd.out" "$d/log/libvirtd.log" 2>/dev/null | tail -20 >&2
  fail "test host $n never answered on $(host_uri "$n")"
}

# The host drops off the network (its cable pulled): blackout's connection
# dies, and the host's libvirtd sees its client go and destroys the domain.
host_unplug() { ip link set "bo$1-$$" down; }

# Domains the host has, through its unix socket (works when unplugged too).
host_domains() { virsh -c "$(host_local_uri "$1")" list --all --name 2>/dev/null | grep . || true; }

hosts_cleanup() {
  local n ns pid
  for n in $HOSTS_UP; do
    ns=$(host_ns "$n")
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip link del "bo$n-$$" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
}
