#include "kernels/apt.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "kernels/cache.h"
#include "kernels/deb.h"

namespace blackout {
namespace fs = std::filesystem;
namespace {

constexpr char kDebianKeyring[] = "/usr/share/keyrings/debian-archive-keyring.gpg";
constexpr int64_t kFreshSeconds = 24 * 3600;

std::string Field(const std::string& record, const std::string& key) {
  std::istringstream in(record);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  }
  return "";
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Debian's release names: a suite is Debian's when its name before any
// "-updates", "-security" or "-backports" is one of them.
bool IsDebianSuite(const std::string& suite) {
  static const std::set<std::string> names = {"squeeze", "wheezy", "jessie", "stretch", "buster", "bullseye",
                                              "bookworm", "trixie", "forky", "duke", "sid", "unstable",
                                              "testing", "stable", "oldstable", "oldoldstable"};
  return names.count(suite.substr(0, suite.find('-'))) > 0;
}

bool IsSecuritySuite(const std::string& suite) { return suite.find("-security") != std::string::npos; }

// One source of the host's: its URIs and suites.
struct HostSource {
  std::vector<std::string> uris;
  std::vector<std::string> suites;
  bool deb = false;  // a binary source (Types: deb), not deb-src
  bool enabled = true;
};

std::vector<HostSource> ParseSources(const std::string& name, const std::string& text) {
  std::vector<HostSource> out;
  std::istringstream in(text);
  std::string line;
  bool deb822 = name.size() >= 8 && name.compare(name.size() - 8, 8, ".sources") == 0;
  HostSource cur;
  auto flush = [&] {
    if (!cur.uris.empty() || !cur.suites.empty()) out.push_back(cur);
    cur = HostSource();
  };
  while (std::getline(in, line)) {
    std::string trimmed = line.substr(0, line.find('#'));
    if (deb822) {
      if (trimmed.find_first_not_of(" \t\r") == std::string::npos) {
        if (line.find('#') == std::string::npos) flush();  // a blank line ends a stanza
        continue;
      }
      size_t colon = trimmed.find(':');
      if (colon == std::string::npos || trimmed[0] == ' ' || trimmed[0] == '\t') continue;
      std::string key = trimmed.substr(0, colon);
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::vector<std::string> values = Words(trimmed.substr(colon + 1));
      if (key == "types") {
        for (const std::string& v : values) cur.deb |= v == "deb";
      } else if (key == "uris") {
        cur.uris = values;
      } else if (key == "suites") {
        cur.suites = values;
      } else if (key == "enabled") {
        cur.enabled = values.empty() || values[0] != "no";
      }
    } else {
      std::vector<std::string> w = Words(trimmed);
      if (w.empty() || w[0] != "deb") continue;
      size_t i = 1;
      if (i < w.size() && w[i][0] == '[') {
        while (i < w.size() && w[i].back() != ']') ++i;
        ++i;
      }
      if (i + 1 >= w.size()) continue;
      HostSource s;
      s.deb = true;
      s.uris = {w[i]};
      s.suites = {w[i + 1]};
      out.push_back(s);
    }
  }
  flush();
  return out;
}

// The keyring file an archive is checked with, fetching a keyring package
// into the cache when the archive names one.
std::string KeyringFile(const AptArchive& a, const std::string& cache_dir) {
  if (!a.keyring_package.empty()) {
    AptArchive from;
    from.suite = a.keyring_suite;
    AptPackage pkg = AptResolve(a.keyring_package, "", from, cache_dir);
    std::string dir = CacheEntry(cache_dir, AptEntryKey(pkg.name, pkg.version), [&](const std::string& tmp) {
      std::string deb = AptDownload(pkg, tmp, cache_dir);
      ExtractDeb(deb, tmp, [](const std::string& p) { return p.rfind("usr/share/keyrings/", 0) == 0; });
      fs::remove(deb);
    });
    std::string file = dir + "/" + a.keyring;
    if (!fs::is_regular_file(file)) {
      throw ConfigError({"archive " + a.Describe() + ": keyring package " + a.keyring_package + "=" + pkg.version +
                         " holds no " + a.keyring});
    }
    return file;
  }
  std::string file = a.keyring.empty() && IsDebianSuite(a.suite) ? kDebianKeyring : a.keyring;
  if (file.empty()) {
    throw ConfigError({"archive " + a.Describe() + ": needs a keyring (a file, or a keyring package) to check "
                       "its signature"});
  }
  if (!fs::is_regular_file(file)) {
    throw ConfigError({"archive " + a.Describe() + ": keyring " + file + ": no such file"});
  }
  return file;
}

// blackout's own apt state for one archive: a directory under the cache and
// the options that make apt use it instead of the host's.
struct ArchiveState {
  std::string dir;
  std::vector<std::string> options;
};

ArchiveState StateOf(const AptArchive& a, const std::string& cache_dir) {
  ArchiveState s;
  s.dir = cache_dir + "/apt-archives/" + a.Key();
  std::string empty = s.dir + "/empty";
  for (const std::string& d : {s.dir + "/lists/partial", s.dir + "/cache/archives/partial", empty}) MakeDirs(d);
  s.options = {"-o", "Dir::State=" + s.dir,
               "-o", "Dir::State::Lists=" + s.dir + "/lists",
               "-o", "Dir::State::status=/dev/null",
               "-o", "Dir::Cache=" + s.dir + "/cache",
               "-o", "Dir::Etc::SourceList=" + s.dir + "/sources.list",
               "-o", "Dir::Etc::SourceParts=" + empty,
               "-o", "Dir::Etc::Preferences=/dev/null",
               "-o", "Dir::Etc::PreferencesParts=" + empty,
               // The state directory may sit where apt's _apt user cannot write.
               "-o", "APT::Sandbox::User=root",
               "-o", "Acquire::Languages=none",
               "-o", "Acquire::Retries=1",
               "-o", "Acquire::http::Timeout=20"};
  return s;
}

int64_t AgeSeconds(const std::string& file) {
  struct stat st;
  if (stat(file.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(std::time(nullptr)) - st.st_mtime;
}

// The lines of apt's output that say what went wrong.
std::string AptComplaint(const std::string& output) {
  std::istringstream in(output);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("E: ", 0) == 0 || line.rfind("W: ", 0) == 0 || line.rfind("  ", 0) == 0) {
      out += (out.empty() ? "" : "\n") + line;
    }
  }
  return out.empty() ? OutputTail(output, 5) : out;
}

void UpdateLocked(const AptArchive& a, const ArchiveState& s, const std::string& cache_dir) {
  std::string keyring = KeyringFile(a, cache_dir);
  std::string url = a.url;
  if (url.empty()) {
    url = HostDebianMirror(a.suite);
    if (url.empty()) {
      throw ConfigError({"archive " + a.Describe() + ": this host's apt sources name no Debian mirror to fetch "
                         "suite '" + a.suite + "' from; give the archive's URL"});
    }
  }
  // An archive named by URL may be frozen in time (Ubuntu's old-releases):
  // its Release's Valid-Until has long passed, and its signature still holds.
  std::string options = "signed-by=" + keyring + (a.url.empty() ? "" : " check-valid-until=no");
  WriteFileAtomic(s.dir + "/sources.list",
                  "# written by blackout for " + a.Describe() + "\ndeb [" + options + "] " + url + " " + a.suite +
                      " " + Join(a.components, " ") + "\n");
  std::vector<std::string> argv = {"apt-get"};
  argv.insert(argv.end(), s.options.begin(), s.options.end());
  argv.push_back("update");
  CommandOptions opts;
  opts.timeout_s = 600;
  Log("updating blackout's apt state for " + a.Describe());
  CommandResult r = RunCommand(argv, opts);
  std::string why = AptComplaint(r.output);
  // apt's own verdict on the signatures: a Release signed by several keys of
  // which the keyring holds one is fine (Ubuntu signed precise with its 2004
  // and 2012 keys), so an unknown key alone is not a failure.
  static const std::regex bad_sig(R"(GPG error|is not signed|is no longer signed|signatures were invalid)");
  if (std::regex_search(r.output, bad_sig)) {
    throw ConfigError({"archive " + a.Describe() + ": its signature does not verify with keyring " + keyring +
                       "; refusing its packages\n" + why});
  }
  // apt-get update exits 0 when an index could not be fetched: the lists
  // must hold the suite's Release.
  bool have_release = false;
  for (const auto& e : fs::directory_iterator(s.dir + "/lists")) {
    std::string n = e.path().filename().string();
    if (n.find("_dists_" + a.suite + "_") != std::string::npos &&
        (n.size() > 8 && (n.compare(n.size() - 9, 9, "InRelease") == 0 || n.compare(n.size() - 7, 7, "Release") == 0))) {
      have_release = true;
    }
  }
  if (!r.ok() || !have_release || why.find("Failed to fetch") != std::string::npos) {
    // apt's reason, indented under its Err line: "Could not resolve 'host'".
    std::string reason = r.timed_out ? "apt-get update timed out" : "apt-get update exit " + std::to_string(r.exit_code);
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  ", 0) == 0 && line.find_first_not_of(' ') != std::string::npos) {
        reason = line.substr(line.find_first_not_of(' '));
        break;
      }
    }
    throw InfraError("archive " + a.Describe() + ": not reachable from this machine (" + reason + ")\n" + why);
  }
  WriteFileAtomic(s.dir + "/updated", std::to_string(std::time(nullptr)) + "\n");
}

// The archive's state, brought up to date when it is older than a day (or
// `force`). Concurrent blackouts update one at a time.
ArchiveState Updated(const AptArchive& a, const std::string& cache_dir, bool force) {
  ArchiveState s = StateOf(a, cache_dir);
  int64_t age = AgeSeconds(s.dir + "/updated");
  if (!force && age >= 0 && age < kFreshSeconds) return s;
  FileLock lock(s.dir + "/lock");
  age = AgeSeconds(s.dir + "/updated");
  if (force ? (age < 0 || age > 60) : (age < 0 || age >= kFreshSeconds)) UpdateLocked(a, s, cache_dir);
  return s;
}

AptPackage Show(const std::string& name, const std::string& version, const AptArchive& archive,
                const std::vector<std::string>& apt_options) {
  std::string what = version.empty() ? name : name + "=" + version;
  std::vector<std::string> argv = {"apt-cache"};
  argv.insert(argv.end(), apt_options.begin(), apt_options.end());
  argv.insert(argv.end(), {"show", "--no-all-versions", what});
  CommandOptions opts;
  opts.timeout_s = 120;
  CommandResult r = RunCommand(argv, opts);
  if (!r.ok() || Field(r.output, "Package").empty()) {
    std::string where = archive.host() ? "apt knows" : archive.Describe() + " has";
    std::string hint = archive.host() ? " (run apt-get update, or check the name)" : " (check the name and version)";
    throw ConfigError({"find package " + what + ": " + where + " no such package" + (version.empty() ? "" : " version") +
                       hint + "\n" + OutputTail(r.output, 3)});
  }
  AptPackage p;
  p.name = Field(r.output, "Package");
  p.version = Field(r.output, "Version");
  p.sha256 = Field(r.output, "SHA256");
  p.depends = Field(r.output, "Depends");
  p.architecture = Field(r.output, "Architecture");
  p.size = std::strtoull(Field(r.output, "Size").c_str(), nullptr, 10);
  p.archive = archive;
  return p;
}

AptPackage ShowIn(const std::string& name, const std::string& version, const AptArchive& archive,
                  const std::string& cache_dir) {
  if (archive.host()) return Show(name, version, archive, {});
  ArchiveState s = Updated(archive, cache_dir, false);
  try {
    return Show(name, version, archive, s.options);
  } catch (const ConfigError&) {
    // Lists up to a day old may miss a build published since: look again.
    s = Updated(archive, cache_dir, true);
    return Show(name, version, archive, s.options);
  }
}

}  // namespace

std::string AptArchive::Describe() const {
  if (host()) return "the host's apt";
  std::string out = (url.empty() ? "" : url + " ") + suite + " " + Join(components, " ");
  return url.empty() ? out + " (the host's Debian mirror)" : out;
}

std::string AptArchive::Key() const {
  std::string where = url.empty() ? "debian" : url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  std::string key = where + "_" + suite + "_" + Join(components, "+");
  // The keys are part of what the state means: an index checked with one
  // keyring is not vouched for by another.
  if (!keyring_package.empty()) key += "_" + keyring_package + "@" + keyring_suite;
  if (!keyring.empty()) {
    char h[20];
    std::snprintf(h, sizeof h, "%08zx", std::hash<std::string>()(keyring) & 0xffffffffu);
    key += "_" + fs::path(keyring).stem().string() + "-" + h;
  }
  return SafeKey(key);
}

std::string DebianMirrorIn(const std::vector<std::pair<std::string, std::string>>& sources, const std::string& suite) {
  bool security = IsSecuritySuite(suite);
  for (const auto& [name, text] : sources) {
    for (const HostSource& s : ParseSources(name, text)) {
      if (!s.deb || !s.enabled || s.uris.empty()) continue;
      for (const std::string& have : s.suites) {
        if (IsDebianSuite(have) && IsSecuritySuite(have) == security) {
          std::string uri = s.uris.front();
          while (!uri.empty() && uri.back() == '/') uri.pop_back();
          return uri;
        }
      }
    }
  }
  return "";
}

std::string HostDebianMirror(const std::string& suite) {
  std::vector<std::pair<std::string, std::string>> sources;
  if (fs::is_regular_file("/etc/apt/sources.list")) sources.emplace_back("sources.list", ReadFile("/etc/apt/sources.list"));
  std::error_code ec;
  std::vector<fs::path> parts;
  for (const auto& e : fs::directory_iterator("/etc/apt/sources.list.d", ec)) parts.push_back(e.path());
  std::sort(parts.begin(), parts.end());
  for (const fs::path& p : parts) {
    if (p.extension() == ".list" || p.extension() == ".sources") sources.emplace_back(p.filename(), ReadFile(p));
  }
  return DebianMirrorIn(sources, suite);
}

std::vector<std::string> AptArchiveOptions(const AptArchive& archive, const std::string& cache_dir) {
  if (archive.host()) return {};
  return Updated(archive, cache_dir, false).options;
}

void AptUpdateArchive(const AptArchive& archive, const std::string& cache_dir) {
  if (!archive.host()) Updated(archive, cache_dir, true);
}

std::string AptArchiveProblem(const AptArchive& archive, const std::string& cache_dir) {
  if (archive.host()) return "";
  try {
    Updated(archive, cache_dir, false);
    return "";
  } catch (const ConfigError& e) {
    return e.problems().empty() ? e.what() : e.problems().front().substr(0, e.problems().front().find('\n'));
  } catch (const InfraError& e) {
    std::string w = e.what();
    return w.substr(0, w.find('\n'));
  }
}

AptPackage AptResolve(const std::string& name, const std::string& version, const AptArchive& archive,
                      const std::string& cache_dir) {
  AptPackage p = ShowIn(name, version, archive, cache_dir);
  // Meta-packages (linux-image-amd64, linux-image-virtual) depend on the real,
  // versioned image; follow one level.
  static const std::regex versioned(R"(^linux-image-[0-9])");
  static const std::regex dep(R"((linux-image-[0-9][^ ,|]*))");
  std::smatch m;
  if (!std::regex_search(p.name, versioned) && std::regex_search(p.depends, m, dep)) {
    return ShowIn(m[1].str(), "", archive, cache_dir);
  }
  return p;
}

std::string AptDownload(const AptPackage& pkg, const std::string& dir, const std::string& cache_dir) {
  CommandOptions opts;
  opts.timeout_s = 900;
  opts.cwd = dir;
  std::vector<std::string> argv = {"apt-get"};
  std::vector<std::string> options = AptArchiveOptions(pkg.archive, cache_dir);
  argv.insert(argv.end(), options.begin(), options.end());
  argv.insert(argv.end(), {"download", "-q", pkg.name + "=" + pkg.version});
  RunChecked(argv, opts);
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string file = e.path().filename().string();
    if (file.rfind(pkg.name + "_", 0) == 0 && e.path().extension() == ".deb") {
      if (!pkg.sha256.empty()) {
        std::string got = Sha256File(e.path().string());
        if (got != pkg.sha256) {
          throw InfraError("download " + pkg.name + "=" + pkg.version + ": sha256 " + got +
                           " does not match the archive index's " + pkg.sha256);
        }
      }
      return e.path().string();
    }
  }
  throw InfraError("download " + pkg.name + "=" + pkg.version + ": apt-get reported success but no .deb in " + dir);
}

}  // namespace blackout
