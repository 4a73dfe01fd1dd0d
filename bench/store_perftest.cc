// Writes N synthetic run directories (result.json and a short console.log)
// for bench/results_ingest.sh: several kernels and workloads, a month of
// dates, one run in four with freezes.
//   store_perftest gen DIR N
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "base/protocol.h"

int main(int argc, char** argv) {
  if (argc != 4 || std::string(argv[1]) != "gen") {
    std::fprintf(stderr, "usage: store_perftest gen DIR N\n");
    return 64;
  }
  std::string root = argv[2];
  int n = std::atoi(argv[3]);
  std::mt19937 rng(7);
  const char* kernels[] = {"6.1.0-50-amd64", "6.1.0-53-amd64", "6.1.0-55-amd64", "6.1.0-57-amd64"};
  const char* workloads[] = {"pv-spinlock-race", "sched-mix", "fio-randrw"};
  for (int i = 0; i < n; ++i) {
    char id[64], started[32];
    int day = 1 + i % 28, hour = (i / 28) % 24;
    std::snprintf(id, sizeof id, "202611%02dT%02d%02d%02dZ-%08x", day, hour, i % 60, (i / 60) % 60, i);
    std::snprintf(started, sizeof started, "2026-11-%02dT%02d:%02d:%02dZ", day, hour, i % 60, (i / 60) % 60);
    std::string dir = root + "/" + id;
    std::filesystem::create_directories(dir);
    bool bad = rng() % 4 == 0;
    nlohmann::json freezes = nlohmann::json::array();
    if (bad) freezes.push_back({{"host_start_s", 12.0}, {"length_s", 2.0 + (rng() % 1000) / 100.0}, {"vcpus", {1}},
                                {"cause", "guest-internal"}, {"guest_start_s", 10.0}, {"guest_advance_s", 3.0}});
    nlohmann::json console_tail = nlohmann::json::array();
    for (int l = 0; l < 40; ++l) console_tail.push_back("[+" + std::to_string(20 + l) + ".000000] [   18.0] kernel line " + std::to_string(l));
    nlohmann::json r = {{"schema", 1},
                        {"run_id", id},
                        {"nonce", "benchnonce"},
                        {"started_at", started},
                        {"verdict", bad ? "stall" : "pass"},
                        {"title", bad ? "stall: freeze of vCPU 1 (guest-internal)" : "pass"},
                        {"kernel", {{"release", kernels[i % 4]}, {"version", "6.1.1" + std::to_string(i % 4)}}},
                        {"config", {{"kernel", "apt linux-image-amd64"}, {"workload", {{"name", workloads[i % 3]}}},
                                    {"guest", {{"type", "xen-pv-dom0"}, {"vcpus", 2}}}}},
                        {"accel", {{"mode", "tcg"}}},
                        {"host", {{"hostname", "bench"}}},
                        {"timings", {{"total_s", 60.0}, {"first_heartbeat_s", 8.0}}},
                        {"freezes", freezes},
                        {"console_tail", console_tail}};
    std::ofstream(dir + "/result.json") << r.dump();
    std::ofstream log(dir + "/console.log");
    char stamp[32];
    for (int b = 0; b < 25; ++b) {
      for (int v = 0; v < 2; ++v) {
        std::snprintf(stamp, sizeof stamp, "[+%.6f] ", 8 + b * 0.2);
        log << stamp << blackout::protocol::FormatHeartbeat("benchnonce", v, static_cast<uint64_t>(b), static_cast<uint64_t>((7 + b * 0.2) * 1e9));
      }
    }
  }
  return 0;
}
