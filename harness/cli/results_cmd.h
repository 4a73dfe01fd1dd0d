// The history commands over the results store: `blackout results`
// (list, show, import), `blackout report` (html, junit, kcidb, json) and
// `blackout compare`. Each returns an exit code; bad input is a ConfigError.
#pragma once

#include <string>
#include <vector>

#include "results/store.h"

namespace blackout {

struct ResultsFlags {
  std::string results = "blackout-results";
  std::string store;  // --store; empty: <results>/blackout.db
  std::string from;   // results import --from: another store (sqlite:PATH or postgresql://...)
  RunFilter filter;
  bool json = false;
};

int CmdResultsList(const ResultsFlags& f);
int CmdResultsShow(const ResultsFlags& f, const std::string& run);
int CmdResultsImport(const ResultsFlags& f, const std::vector<std::string>& dirs);
int CmdResultsBisections(const ResultsFlags& f);

struct ReportFlags {
  std::string format = "html";  // html | junit | kcidb | json
  std::string output;           // empty: stdout
  std::string origin = "blackout";
  std::string title = "blackout report";
  int detail = 50;
};
int CmdReport(const ResultsFlags& f, const ReportFlags& r);

// A and B: a kernel (glob over release or package version), or
// "runs:ID,ID,...", or "bisection:ID".
int CmdCompare(const ResultsFlags& f, const std::string& a, const std::string& b, double confidence);

}  // namespace blackout
