#include "harness/evidence.h"

#include "base/error.h"
#include "base/log.h"
#include "base/protocol.h"

namespace blackout {

void GatherEvidence(Instance& vm, RunDir& dir, HostClock::time_point start, const EvidenceRequest& req) {
  Log("gathering evidence");
  Status("evidence: the guest's view");
  const GuestType& type = *req.type;
  if (type.evidence == GuestType::Evidence::kDom0) {
    // dom0 answers for the domU: xl list, the domU's sysrq w and l through
    // xenstore, Xen's debug keys d q r and Xen's log (xl dmesg).
    std::string end = std::string(protocol::kDom0Marker) + protocol::kDom0EvidenceEnd;
    vm.WriteConsole(protocol::FormatCommand(req.nonce, protocol::kCommandDom0Evidence));
    std::string out = DrainConsole(vm, dir, start, 60, end);
    if (out.find(end) == std::string::npos) out += "blackout: dom0 did not finish its evidence within 60s\n";
    dir.WriteEvidence("dom0-xl.txt", out);
  } else if (req.guest_was_up) {
    // The agent reads console commands; a guest that no longer schedules it
    // simply does not answer, and the file says so.
    vm.WriteConsole(protocol::FormatCommand(req.nonce, std::string(protocol::kCommandSysrq) + " wl"));
    std::string out = DrainConsole(vm, dir, start, 4);
    if (out.find("sysrq") == std::string::npos) out += "blackout: the guest did not answer the sysrq request\n";
    dir.WriteEvidence("guest-sysrq.txt", out);
  }
  // On a Xen host the backend's answer is the host's view of the vCPUs.
  Status("evidence: vCPU registers");
  try {
    dir.WriteEvidence("qemu-registers.txt", vm.Diagnose());
  } catch (const InfraError& e) {
    dir.WriteEvidence("qemu-registers.txt", std::string("unavailable: ") + e.what() + "\n");
  }
  if (req.dump_memory) {
    Status("evidence: guest memory");
    try {
      vm.DumpMemory(dir.File("evidence/memory.elf"));
    } catch (const InfraError& e) {
      dir.WriteEvidence("memory.txt", std::string("dump failed: ") + e.what() + "\n");
    }
  }
  if (type.xen && !type.xen_host) {
    // Three Ctrl-A switch the serial input to Xen; then 'd' (registers and
    // stacks of all vCPUs), 'q' (domains), 'r' (scheduler); three more switch back.
    Status("evidence: Xen debug keys");
    vm.WriteConsole("\x01\x01\x01");
    std::string out = DrainConsole(vm, dir, start, 0.5);
    for (const char* key : {"d", "q", "r"}) {
      vm.WriteConsole(key);
      out += DrainConsole(vm, dir, start, 2.5);
    }
    vm.WriteConsole("\x01\x01\x01");
    if (out.find("(XEN)") == std::string::npos) {
      out += "blackout: Xen did not answer its debug keys (it halts once dom0 has crashed with "
             "'noreboot')\n";
    }
    dir.WriteEvidence("xen-debug-keys.txt", out);
  }
  ClearStatus();
  dir.Flush();
}

}  // namespace blackout
