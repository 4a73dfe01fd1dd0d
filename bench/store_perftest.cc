// Synthetic runs for the store benches:
//   store_perftest gen DIR N             N run directories (result.json and a
//                                        short console.log) for bench/results_ingest.sh
//   store_perftest write STORE N [B] [P] N runs into a store (SQLite path or
//                                        postgresql:// URL) through blackout's
//                                        Store, B per transaction (1: one per
//                                        run, as runs end), ids prefixed P;
//                                        prints runs per second
//   store_perftest sql N [B] [P]         the same rows as SQL on stdout, for
//                                        sqlite3 and psql by hand (the floor)
// Several kernels and workloads, a month of dates, one run in four with a freeze.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "base/protocol.h"
#include "results/store.h"

namespace {

const char* const kKernels[] = {"6.1.0-50-amd64", "6.1.0-53-amd64", "6.1.0-55-amd64", "6.1.0-57-amd64"};
const char* const kWorkloads[] = {"pv-spinlock-race", "sched-mix", "fio-randrw"};

nlohmann::json SyntheticResult(int i, const std::string& prefix, std::mt19937& rng) {
  char id[96], started[32];
  int day = 1 + i % 28, hour = (i / 28) % 24;
  std::snprintf(id, sizeof id, "%s202611%02dT%02d%02d%02dZ-%08x", prefix.c_str(), day, hour, i % 60, (i / 60) % 60, i);
  std::snprintf(started, sizeof started, "2026-11-%02dT%02d:%02d:%02dZ", day, hour, i % 60, (i / 60) % 60);
  bool bad = rng() % 4 == 0;
  nlohmann::json freezes = nlohmann::json::array();
  if (bad) freezes.push_back({{"host_start_s", 12.0}, {"length_s", 2.0 + (rng() % 1000) / 100.0}, {"vcpus", {1}},
                              {"cause", "guest-internal"}, {"guest_start_s", 10.0}, {"guest_advance_s", 3.0}});
  nlohmann::json console_tail = nlohmann::json::array();
  for (int l = 0; l < 40; ++l) console_tail.push_back("[+" + std::to_string(20 + l) + ".000000] [   18.0] kernel line " + std::to_string(l));
  return {{"schema", 1},
          {"run_id", id},
          {"nonce", "benchnonce"},
          {"started_at", started},
          {"verdict", bad ? "stall" : "pass"},
          {"title", bad ? "stall: freeze of vCPU 1 (guest-internal)" : "pass"},
          {"kernel", {{"release", kKernels[i % 4]}, {"version", "6.1.1" + std::to_string(i % 4)}}},
          {"config", {{"kernel", "apt linux-image-amd64"}, {"workload", {{"name", kWorkloads[i % 3]}}},
                      {"guest", {{"type", "xen-pv-dom0"}, {"vcpus", 2}}}}},
          {"accel", {{"mode", "tcg"}}},
          {"host", {{"hostname", "bench"}}},
          {"timings", {{"total_s", 60.0}, {"first_heartbeat_s", 8.0}}},
          {"freezes", freezes},
          {"console_tail", console_tail}};
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

int Gen(const std::string& root, int n) {
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    nlohmann::json r = SyntheticResult(i, "", rng);
    std::string id = r["run_id"];
    std::string dir = root + "/" + id;
    std::filesystem::create_directories(dir);
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

int Write(const std::string& where, int n, int batch, const std::string& prefix) {
  std::mt19937 rng(7);
  blackout::Store store(where);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::pair<nlohmann::json, std::string>> pending;
  for (int i = 0; i < n; ++i) {
    nlohmann::json r = SyntheticResult(i, prefix, rng);
    std::string path = "/bench/" + r["run_id"].get<std::string>();
    if (batch <= 1) {
      store.RecordRun(r, path);
    } else {
      pending.emplace_back(std::move(r), path);
      if (static_cast<int>(pending.size()) >= batch) {
        store.RecordRuns(pending);
        pending.clear();
      }
    }
  }
  if (!pending.empty()) store.RecordRuns(pending);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%d runs in %.2fs: %.0f runs/s\n", n, s, n / s);
  return 0;
}

// The rows RecordRun writes (the run and its freezes), as plain SQL.
int Sql(int n, int batch, const std::string& prefix) {
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    nlohmann::json r = SyntheticResult(i, prefix, rng);
    blackout::RunRow row = blackout::RowFromResult(r, "/bench/" + r["run_id"].get<std::string>());
    if (i % batch == 0) std::cout << "BEGIN;\n";
    std::cout << "INSERT INTO runs (id, path, started_at, verdict, title, kernel, kernel_version, workload, guest, "
                 "accelerator, host, bisection, total_s, first_heartbeat_s, worst_gap_s, freeze_count, result, matrix, "
                 "cell, matrix_repeat) VALUES ("
              << Quote(row.id) << ", " << Quote(row.path) << ", " << Quote(row.started_at) << ", " << Quote(row.verdict)
              << ", " << Quote(row.title) << ", " << Quote(row.kernel) << ", " << Quote(row.kernel_version) << ", "
              << Quote(row.workload) << ", " << Quote(row.guest) << ", " << Quote(row.accelerator) << ", "
              << Quote(row.host) << ", '', " << row.total_s << ", " << row.first_heartbeat_s << ", " << row.worst_gap_s
              << ", " << row.freeze_count << ", " << Quote(r.dump()) << ", '', '', 0);\n";
    int idx = 0;
    for (const nlohmann::json& f : r["freezes"]) {
      std::cout << "INSERT INTO freezes (run_id, idx, host_start_s, length_s, vcpus, cause) VALUES (" << Quote(row.id)
                << ", " << idx++ << ", " << f["host_start_s"].get<double>() << ", " << f["length_s"].get<double>()
                << ", '1', " << Quote(f["cause"].get<std::string>()) << ");\n";
    }
    if (i % batch == batch - 1 || i == n - 1) std::cout << "COMMIT;\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "gen" && argc == 4) return Gen(argv[2], std::atoi(argv[3]));
  if (mode == "write" && argc >= 4 && argc <= 6) {
    return Write(argv[2], std::atoi(argv[3]), argc > 4 ? std::atoi(argv[4]) : 1, argc > 5 ? argv[5] : "");
  }
  if (mode == "sql" && argc >= 3 && argc <= 5) {
    return Sql(std::atoi(argv[2]), argc > 3 ? std::max(1, std::atoi(argv[3])) : 1, argc > 4 ? argv[4] : "");
  }
  std::fprintf(stderr, "usage: store_perftest gen DIR N | write STORE N [BATCH] [PREFIX] | sql N [BATCH] [PREFIX]\n");
  return 64;
}
