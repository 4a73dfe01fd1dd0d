#include "guests/agent/workload_conf.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/protocol.h"

namespace blackout::agent {
namespace {

// key=value words up to the end of the line or a "--"; what follows "--" goes
// to rest.
Fields ParseFields(std::istringstream& in, std::vector<std::string>* rest = nullptr) {
  Fields fields;
  std::string kv;
  while (in >> kv) {
    if (kv == protocol::conf::kToolArgs && rest) {
      for (std::string w; in >> w;) rest->push_back(w);
      break;
    }
    size_t eq = kv.find('=');
    if (eq != std::string::npos) fields[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return fields;
}

}  // namespace

bool ParseWorkloadConf(const std::string& text, const std::set<std::string>& kinds, int ncpus, Workload* w,
                       std::string* error) {
  namespace conf = protocol::conf;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream words(line);
    std::string directive;
    if (!(words >> directive) || directive[0] == '#') continue;
    if (directive == conf::kDuration) {
      words >> w->duration_s;
    } else if (directive == conf::kReport) {
      words >> w->report_s;
      if (w->report_s < 1) w->report_s = 1;
    } else if (directive == conf::kPhase) {
      Phase p;
      std::string only;
      words >> p.name >> p.duration_s >> p.intensity >> only;
      for (size_t start = 0; only != conf::kAllKinds && start < only.size();) {
        size_t comma = std::min(only.find(',', start), only.size());
        p.only.push_back(only.substr(start, comma - start));
        start = comma + 1;
      }
      if (p.duration_s <= 0) {
        *error = "bad-phase line=" + std::to_string(lineno);
        return false;
      }
      w->phases.push_back(p);
    } else if (directive == conf::kModule) {
      Module m;
      words >> m.path;
      std::getline(words, m.params);
      if (!m.params.empty() && m.params[0] == ' ') m.params.erase(0, 1);
      w->modules.push_back(m);
    } else if (directive == conf::kDisk) {
      Disk d;
      words >> d.index >> d.device >> d.fs;
      w->disks.push_back(d);
    } else if (directive == conf::kStressor) {
      auto s = std::make_unique<Stressor>();
      words >> s->kind;
      s->fields = ParseFields(words, &s->argv);
      s->fields["id"] = std::to_string(w->stressors.size());
      if (!kinds.count(s->kind)) {
        *error = "unknown-stressor:" + s->kind + " line=" + std::to_string(lineno);
        return false;
      }
      s->nthreads = s->argv.empty() ? std::max(1, std::atoi(s->fields.count("threads") ? s->fields["threads"].c_str() : "1")) : 1;
      if (s->fields.count("cpus")) {
        std::istringstream list(s->fields["cpus"]);
        for (std::string c; std::getline(list, c, ',');) {
          int cpu = std::atoi(c.c_str());
          if (cpu < 0 || cpu >= ncpus) {
            *error = "stressor-cpu-out-of-range kind=" + s->kind + " cpu=" + c +
                     " vcpus=" + std::to_string(ncpus);
            return false;
          }
          s->cpus.push_back(cpu);
        }
      }
      w->stressors.push_back(std::move(s));
    } else if (directive == conf::kFault) {
      Fault f;
      words >> f.kind;
      f.fields = ParseFields(words);
      w->faults.push_back(f);
    } else {
      *error = "bad-directive line=" + std::to_string(lineno);
      return false;
    }
  }
  return true;
}

}  // namespace blackout::agent
