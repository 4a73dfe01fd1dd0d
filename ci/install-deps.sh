#!/usr/bin/env bash
# Installs every Debian package blackout needs to build, run and test.
# Idempotent; run as root on Debian 12. Installs only what is missing.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config
  libboost-dev libboost-filesystem-dev libboost-math-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libvirt-dev libre2-dev libarchive-dev liblzma-dev zlib1g-dev libzstd-dev libgtest-dev libgmock-dev libsqlite3-dev
  libcurl4-openssl-dev libpq-dev
  # run: QEMU, the guest's busybox, apt's downloader is already on Debian
  qemu-system-x86 qemu-utils busybox-static kmod
  # run: Debian's archive keys, which check the suites blackout fetches itself
  debian-archive-keyring
  # run: the libvirt backend's daemons (libvirtd, virtlogd) and virsh
  libvirt-daemon-system libvirt-clients
  # run: the standard stress tools a workload may name (copied into the guest
  # with their shared-library closure)
  stress-ng fio
  # run: git kernel builds (make, the kernel's host tools, ccache)
  make flex bison bc libelf-dev libssl-dev ccache
  # run: cloud images (`blackout images build`: a Debian root with mmdebstrap,
  # an ext4 file system, GRUB's BIOS core, a FAT config drive; debugfs reads
  # an image without mounting it)
  mmdebstrap grub-pc-bin grub-common dosfstools mtools fdisk e2fsprogs
  # run: pygrub (from Xen's toolstack package, fetched by blackout) runs on python3
  python3
  # tests
  jq cpio dpkg-dev procps git clang libclang-rt-14-dev time sqlite3
  # tests: repacking an image kernel for pvgrub (lz4)
  lz4
  # tests: virt-xml-validate (libvirt-clients) runs xmllint; test libvirt
  # hosts live in network namespaces (ip netns, veth)
  libxml2-utils iproute2
  # tests: real consumers of the reports (JUnit, KCIDB schema, a browser)
  python3-junitparser python3-jsonschema python3-rfc3987 chromium fonts-dejavu-core
  # tests: the CI templates checked by real tools (systemd-analyze is systemd's)
  yamllint python3-kubernetes systemd
  # tests: a real SMTP server for the matrix's notifications
  python3-aiosmtpd
  # tests: a real PostgreSQL cluster for the shared store (initdb, pg_ctl, psql)
  postgresql-15 postgresql-client-15
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The kernel and hypervisor packages are fetched by name with apt-get download:
# the package lists must exist (a fresh image may have none).
if [ "${#missing[@]}" -gt 0 ] || ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "ci/install-deps.sh: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
