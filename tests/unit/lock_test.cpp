// The deploy lock over a FakeRemote and a FakeClock: taking, waiting, reclaiming stale locks,
// releasing only our own lock, status and force_release.
#include "deployer/lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "unit/fake_clock.hpp"
#include "unit/fake_remote.hpp"

namespace podlift {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Prefixes of the lock's three scripts and of force_release's rm, as FakeRemote sees them.
const std::string kTake = "sh -c 'mkdir -p -- ";
const std::string kRead = "sh -c 'now=";
const std::string kRemoveIf = "sh -c 'exp=";
const std::string kDir = "/var/lib/podlift/web/lock";

std::string host_part(const std::string& who) {
  return who.substr(who.rfind('@') + 1);
}

std::string info_json(const std::string& who, long long pid, long long taken_at,
                      long long lease = 1800, const std::string& version = "",
                      const std::string& message = "") {
  return json{{"who", who},           {"host", host_part(who)}, {"when", "2026-12-03T19:07:37Z"},
              {"taken_at", taken_at}, {"version", version},     {"pid", pid},
              {"message", message},   {"lease_seconds", lease}}
      .dump();
}

// What the read script prints: the server's time, the lock directory's mtime, the info file.
std::string read_out(long long now, long long mtime, const std::string& info) {
  return std::to_string(now) + " " + std::to_string(mtime) + "\n" + info;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t count_calls(const FakeRemote& remote, const std::string& prefix) {
  size_t n = 0;
  for (const auto& c : remote.calls) n += c.command.rfind(prefix, 0) == 0;
  return n;
}

// A pid that surely is not running: a child that exited and was reaped.
long long dead_pid() {
  pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

struct LockTest : ::testing::Test {
  FakeRemote remote;
  FakeClock clock;
  std::vector<std::string> warnings;
  DeployLock::Warn warn = [this](const std::string& w) { warnings.push_back(w); };
};

TEST(LockText, DirAndDescription) {
  EXPECT_EQ(lock_dir("web"), kDir);
  LockInfo i;
  i.who = "root@buildbox";
  i.host = "buildbox";
  i.when = "2026-12-03T19:07:37Z";
  i.pid = 4242;
  i.version = "0123456789abcdef0123456789abcdef01234567";
  i.message = "hotfix \"login\"";
  EXPECT_EQ(describe_lock(i),
            "root@buildbox (pid 4242) since 2026-12-03T19:07:37Z deploying 0123456789ab: "
            "\"hotfix \\\"login\\\"\"");
  i.pid = 0;
  i.version.clear();
  i.message.clear();
  EXPECT_EQ(describe_lock(i), "root@buildbox since 2026-12-03T19:07:37Z");
  LockInfo unknown;
  unknown.taken_at = 0;
  EXPECT_EQ(describe_lock(unknown),
            "an unknown holder (lock without info) since 1970-01-01T00:00:00Z");
}

TEST(LockText, LocalIdentityIsUserAtHost) {
  std::string who = local_identity();
  auto at = who.find('@');
  ASSERT_NE(at, std::string::npos) << who;
  EXPECT_GT(at, 0u);
  EXPECT_LT(at + 1, who.size());
}

TEST_F(LockTest, TakesAFreeLockAndReleasesItOnDestruction) {
  {
    DeployLock lock(remote, "web", clock, warn);
    lock.acquire("0123456789abcdef0123456789abcdef01234567", "first deploy");
    EXPECT_TRUE(lock.held());
    ASSERT_EQ(remote.calls.size(), 1u);
    const auto& take = remote.calls[0];
    EXPECT_EQ(take.command.rfind(kTake, 0), 0u) << take.command;
    EXPECT_TRUE(contains(take.command, "' sh " + kDir)) << take.command;
    json info = json::parse(take.stdin_data);
    EXPECT_EQ(info["who"], local_identity());
    EXPECT_EQ(info["host"], host_part(local_identity()));
    EXPECT_EQ(info["pid"], static_cast<long long>(getpid()));
    EXPECT_EQ(info["version"], "0123456789abcdef0123456789abcdef01234567");
    EXPECT_EQ(info["message"], "first deploy");
    EXPECT_EQ(info["lease_seconds"], 1800);
    EXPECT_GT(info["taken_at"].get<long long>(), 1700000000);
    EXPECT_EQ(info["when"].get<std::string>().size(), 20u);
  }
  ASSERT_EQ(remote.calls.size(), 2u);
  EXPECT_EQ(remote.calls[1].command.rfind(kRemoveIf, 0), 0u) << remote.calls[1].command;
  EXPECT_EQ(remote.calls[1].stdin_data, remote.calls[0].stdin_data);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(clock.slept, 0ms);
}

TEST_F(LockTest, BusyLockWithoutWaitNamesTheHolder) {
  remote.on(kTake, 3);
  remote.on(kRead, 0,
            read_out(1000, 990,
                     info_json("deploy@ci-runner", 4242, 990, 1800,
                               "0123456789abcdef0123456789abcdef01234567", "release 7")));
  DeployLock lock(remote, "web", clock, warn);
  try {
    lock.acquire("feedfacefeedfacefeedfacefeedfacefeedface", "mine");
    FAIL() << "acquired a held lock";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "deploy lock of web is held by deploy@ci-runner (pid 4242) since "
              "2026-12-03T19:07:37Z deploying 0123456789ab: \"release 7\"; wait with --lock-wait "
              "SECONDS or release it with `podlift lock release`");
  }
  EXPECT_FALSE(lock.held());
  EXPECT_EQ(count_calls(remote, kRemoveIf), 0u);
  EXPECT_EQ(clock.slept, 0ms);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(LockTest, LiveLocalHolderIsNotStale) {
  remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(1000, 990, info_json(local_identity(), getpid(), 990)));
  DeployLock lock(remote, "web", clock, warn);
  EXPECT_THROW(lock.acquire("", ""), Error);
  EXPECT_EQ(count_calls(remote, kRemoveIf), 0u);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(LockTest, WaitsWhileHeldAndTakesItWhenFree) {
  for (int i = 0; i < 3; ++i) remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(1000, 990, info_json("deploy@ci-runner", 4242, 990)), "", true);
  DeployLock lock(remote, "web", clock, warn);
  lock.acquire("", "", 10s);
  EXPECT_TRUE(lock.held());
  EXPECT_EQ(clock.slept, 3s);
  EXPECT_EQ(count_calls(remote, kTake), 4u);
  EXPECT_EQ(count_calls(remote, kRead), 3u);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(LockTest, GivesUpWhenTheWaitRunsOut) {
  remote.on(kTake, 3, "", "", true);
  remote.on(kRead, 0, read_out(1000, 990, info_json("deploy@ci-runner", 4242, 990)), "", true);
  DeployLock lock(remote, "web", clock, warn);
  EXPECT_THROW(lock.acquire("", "", 5s), Error);
  EXPECT_EQ(clock.slept, 5s);
  EXPECT_FALSE(lock.held());
}

TEST_F(LockTest, ReclaimsTheLockOfADeadLocalProcess) {
  long long pid = dead_pid();
  std::string theirs = info_json(local_identity(), pid, 990, 1800, "", "crashed deploy");
  remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(1000, 990, theirs));
  DeployLock lock(remote, "web", clock, warn);
  lock.acquire("", "", 0s);
  EXPECT_TRUE(lock.held());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("reclaiming stale deploy lock of service web held by " +
                                  local_identity() + " (pid " + std::to_string(pid) + ")",
                              0),
            0u)
      << warnings[0];
  // The removal names exactly what was judged stale, then the lock is taken again.
  ASSERT_EQ(remote.calls.size(), 4u);
  EXPECT_EQ(remote.calls[2].command.rfind(kRemoveIf, 0), 0u);
  EXPECT_EQ(remote.calls[2].stdin_data, theirs);
  EXPECT_EQ(remote.calls[3].command.rfind(kTake, 0), 0u);
  EXPECT_EQ(clock.slept, 0ms);
}

TEST_F(LockTest, ReclaimsALockWhoseLeaseHasPassed) {
  std::string theirs = info_json("deploy@ci-runner", 4242, 1000, 60);
  remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(1060, 1000, theirs));
  DeployLock lock(remote, "web", clock, warn);
  lock.acquire("", "");
  EXPECT_TRUE(lock.held());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], "held by deploy@ci-runner (pid 4242)")) << warnings[0];
  EXPECT_EQ(count_calls(remote, kRemoveIf), 1u);
}

TEST_F(LockTest, LeaseNotYetPassedIsHeld) {
  remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(1059, 1000, info_json("deploy@ci-runner", 4242, 1000, 60)));
  DeployLock lock(remote, "web", clock, warn);
  EXPECT_THROW(lock.acquire("", ""), Error);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(LockTest, LockWithoutInfoIsHeldThenStaleAfterAMinute) {
  remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(1059, 1000, ""));
  {
    DeployLock lock(remote, "web", clock, warn);
    try {
      lock.acquire("", "");
      FAIL() << "acquired a lock someone is taking";
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), "held by an unknown holder")) << e.what();
    }
  }
  remote.calls.clear();
  remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(1060, 1000, ""));
  DeployLock lock(remote, "web", clock, warn);
  lock.acquire("", "");
  EXPECT_TRUE(lock.held());
  ASSERT_EQ(warnings.size(), 1u);
  ASSERT_EQ(count_calls(remote, kRemoveIf), 1u);
  EXPECT_EQ(remote.calls[2].stdin_data, "");
}

TEST_F(LockTest, AReclaimThatLosesTheRaceWaitsLikeAnyoneElse) {
  // Stale at first look; someone else reclaims first and holds it fresh.
  remote.on(kTake, 3, "", "", true);
  remote.on(kRead, 0, read_out(1060, 1000, info_json("deploy@ci-runner", 4242, 1000, 60)));
  remote.on(kRemoveIf, 4, info_json("ops@laptop", 77, 1060));
  remote.on(kRead, 0, read_out(1060, 1060, info_json("ops@laptop", 77, 1060)), "", true);
  DeployLock lock(remote, "web", clock, warn);
  try {
    lock.acquire("", "");
    FAIL() << "acquired a lock someone else reclaimed";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "held by ops@laptop (pid 77)")) << e.what();
  }
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(LockTest, VanishedLockIsRetriedAtOnce) {
  remote.on(kTake, 3);
  remote.on(kRead, 3);  // released between our mkdir and our read
  DeployLock lock(remote, "web", clock, warn);
  lock.acquire("", "");
  EXPECT_TRUE(lock.held());
  EXPECT_EQ(clock.slept, 0ms);
}

TEST_F(LockTest, ReleaseLeavesALockThatIsNoLongerOurs) {
  DeployLock lock(remote, "web", clock, warn);
  lock.acquire("", "");
  const std::string ours = remote.calls[0].stdin_data;
  remote.on(kRemoveIf, 4, info_json("ops@laptop", 77, 1060));
  lock.release();
  EXPECT_FALSE(lock.held());
  ASSERT_EQ(remote.calls.size(), 2u);
  EXPECT_EQ(remote.calls[1].stdin_data, ours);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], "reclaimed by ops@laptop (pid 77)")) << warnings[0];
  lock.release();  // nothing held any more: no remote call
  EXPECT_EQ(remote.calls.size(), 2u);
}

TEST_F(LockTest, DestructorSwallowsReleaseErrors) {
  {
    DeployLock lock(remote, "web", clock, warn);
    lock.acquire("", "");
    remote.fail(kRemoveIf, "connection lost");
  }
  EXPECT_EQ(remote.calls.size(), 2u);
}

TEST_F(LockTest, DetachedLockRecordsNoPidAndStaysAfterwards) {
  {
    DeployLock lock(remote, "web", clock, warn);
    lock.acquire_detached("maintenance: db upgrade", 0s, 0s);
    EXPECT_FALSE(lock.held());
  }
  ASSERT_EQ(remote.calls.size(), 1u);
  json info = json::parse(remote.calls[0].stdin_data);
  EXPECT_EQ(info["pid"], 0);
  EXPECT_EQ(info["lease_seconds"], 0);
  EXPECT_EQ(info["message"], "maintenance: db upgrade");
}

TEST_F(LockTest, DetachedLockIsNotStaleWithoutLease) {
  remote.on(kTake, 3);
  remote.on(kRead, 0, read_out(999999, 1000, info_json(local_identity(), 0, 1000, 0)));
  DeployLock lock(remote, "web", clock, warn);
  EXPECT_THROW(lock.acquire("", ""), Error);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(LockTest, StatusParsesTheInfo) {
  remote.on(kRead, 3);
  DeployLock lock(remote, "web", clock, warn);
  EXPECT_FALSE(lock.status());

  remote.on(kRead, 0,
            read_out(1000, 990,
                     info_json("deploy@ci-runner", 4242, 990, 600,
                               "0123456789abcdef0123456789abcdef01234567", "release 7")));
  auto info = lock.status();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->who, "deploy@ci-runner");
  EXPECT_EQ(info->host, "ci-runner");
  EXPECT_EQ(info->when, "2026-12-03T19:07:37Z");
  EXPECT_EQ(info->taken_at, 990);
  EXPECT_EQ(info->version, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(info->pid, 4242);
  EXPECT_EQ(info->message, "release 7");
  EXPECT_EQ(info->lease_seconds, 600);

  remote.on(kRead, 0, read_out(1000, 990, "{\"who\": 12, garbage"));
  info = lock.status();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->who, "");
  EXPECT_EQ(info->taken_at, 990);

  remote.fail(kRead, "connection lost");
  EXPECT_THROW(lock.status(), Error);
}

TEST_F(LockTest, ForceReleaseRemovesWhoeverHoldsIt) {
  remote.on(kRead, 0, read_out(1000, 990, info_json("deploy@ci-runner", 4242, 990)));
  DeployLock lock(remote, "web", clock, warn);
  auto removed = lock.force_release();
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->who, "deploy@ci-runner");
  ASSERT_EQ(remote.calls.size(), 2u);
  EXPECT_EQ(remote.calls[1].command, "rm -rf -- " + kDir);

  remote.calls.clear();
  remote.on(kRead, 3);
  EXPECT_FALSE(lock.force_release());
  EXPECT_EQ(remote.calls.size(), 1u);
}

TEST_F(LockTest, RemoteErrorsAreErrors) {
  remote.on(kTake, 2, "", "mkdir: cannot create directory: Read-only file system");
  DeployLock lock(remote, "web", clock, warn);
  try {
    lock.acquire("", "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "Read-only file system")) << e.what();
    EXPECT_TRUE(contains(e.what(), "root@fake:22")) << e.what();
  }
  remote.fail(kTake, "connection lost");
  EXPECT_THROW(lock.acquire("", ""), Error);
}

}  // namespace
}  // namespace podlift
