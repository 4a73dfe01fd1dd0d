#include "base/subprocess.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <gtest/gtest.h>

#include "base/test_tmpdir.h"

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {

TEST(RunCommand, CapturesOutputAndExitCode) {
  CommandResult r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.output.find("out"), std::string::npos);
  EXPECT_NE(r.output.find("err"), std::string::npos);
}

TEST(RunCommand, StdinIsDevNull) {
  CommandResult r = RunCommand({"sh", "-c", "cat; echo done"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.output, "done\n");
}

TEST(RunCommand, DeadlineKillsTheWholeGroup) {
  auto start = std::chrono::steady_clock::now();
  // The grandchild would keep the output file open forever if it survived.
  CommandOptions quick;
  quick.timeout_s = 0.3;
  CommandResult r = RunCommand({"sh", "-c", "sleep 30 & sleep 30"}, quick);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(took, 5.0);
  CommandResult left = RunCommand({"sh", "-c", "pgrep -f '^sleep 30$' || true"});
  EXPECT_EQ(left.output, "");
}

// A cancel set from another thread ends the command's whole group, as
// Ctrl-C does, and is told apart from it.
TEST(RunCommand, CancelEndsTheWholeGroup) {
  std::atomic<bool> cancel{false};
  CommandOptions o;
  o.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(RunCommand({"sh", "-c", "sleep 31 & sleep 31"}, o), CancelledError);
  canceller.join();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 5.0);
  EXPECT_EQ(RunCommand({"sh", "-c", "pgrep -f '^sleep 31$' || true"}).output, "");
  // Already set: the command is ended at once.
  EXPECT_THROW(RunCommand({"sleep", "31"}, o), CancelledError);
}

TEST(RunChecked, ErrorCarriesCommandAndTail) {
  try {
    RunChecked({"sh", "-c", "echo first; echo 'the real cause'; exit 7"});
    FAIL() << "expected InfraError";
  } catch (const InfraError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("run sh -c"), std::string::npos) << what;
    EXPECT_NE(what.find("exit 7"), std::string::npos) << what;
    EXPECT_NE(what.find("the real cause"), std::string::npos) << what;
  }
}

TEST(RunCommand, MissingProgramIsInfraError) {
  EXPECT_THROW(RunCommand({"blackout-no-such-program"}), InfraError);
}

TEST(CommandLine, QuotesWhatNeedsIt) {
  EXPECT_EQ(CommandLine({"echo", "a b", "it's", "x=1"}), "echo 'a b' 'it'\\''s' x=1");
  // What it quotes survives the shell (QEMU runs exec: migration URIs with it).
  for (std::string word : {"plain", "with space", "it's", "$(touch /tmp/no)", "a'b'c\"d"}) {
    EXPECT_EQ(RunChecked({"sh", "-c", "printf %s " + CommandLine({word})}), word);
  }
}

TEST(OutputTail, KeepsLastLines) {
  EXPECT_EQ(OutputTail("1\n2\n3\n4\n", 2), "3\n4");
  EXPECT_EQ(OutputTail("only", 2), "only");
}

TEST(Child, DiesWhenItsParentIsKilled) {
  // A helper process spawns a Child and is then SIGKILLed: PR_SET_PDEATHSIG must
  // take the child (and so a VM) down with it.
  std::string tmp = testing_util::TestTempDir("pdeath");
  ASSERT_FALSE(tmp.empty());
  std::string pidfile = tmp + "/pid";
  pid_t helper = fork();
  if (helper == 0) {
    Child c({"sh", "-c", "echo $$ > " + pidfile + "; exec sleep 60"}, {});
    pause();
    _exit(0);
  }
  std::string text;
  for (int i = 0; i < 200 && text.empty(); ++i) {
    usleep(20000);
    std::ifstream in(pidfile);
    std::getline(in, text);
  }
  ASSERT_FALSE(text.empty());
  pid_t grandchild = std::stoi(text);
  kill(helper, SIGKILL);
  waitpid(helper, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    usleep(20000);
    std::ifstream stat("/proc/" + text + "/stat");
    std::string s;
    std::getline(stat, s);
    // Gone, or a zombie waiting for init to reap it.
    gone = s.empty() || s.find(") Z ") != std::string::npos;
  }
  EXPECT_TRUE(gone) << "pid " << grandchild << " outlived its parent";
}

TEST(Child, KillReapsAndReportsStatus) {
  Child c({"sleep", "60"}, {});
  EXPECT_FALSE(c.Exited());
  c.Kill();
  EXPECT_TRUE(c.Exited());
  EXPECT_EQ(c.Status(), "killed by signal 9");
}

TEST(Child, ReportsExit) {
  Child c({"sh", "-c", "exit 4"}, {});
  EXPECT_TRUE(c.WaitFor(10));
  EXPECT_EQ(c.Status(), "exit 4");
}

}  // namespace blackout
