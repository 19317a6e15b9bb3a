// The deploy lock (see lock.hpp). Every remote step is one constant `sh -c` script with the lock
// directory as its positional parameter; the info JSON travels on stdin.
#include "deployer/lock.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "deployer/version.hpp"

namespace podlift {

namespace {

using json = nlohmann::json;

// A lock directory without readable info (its owner is between mkdir and writing info, or died
// there) is held; once it is this old it is stale.
constexpr long long kInfoGraceSeconds = 60;
// Immediate retries when the lock vanished between our mkdir and our read of it.
constexpr int kVanishedRetries = 3;

// mkdir is the atomic step. The info is written to a temporary file and renamed, so a reader
// never sees half of it. Exit 0: taken; 3: someone holds it; anything else: an error.
const std::string kTakeScript =
    "mkdir -p -- \"$(dirname -- \"$1\")\" || exit 2\n"
    "if e=$(mkdir -- \"$1\" 2>&1); then\n"
    "  if cat > \"$1/info.tmp\" && mv -f -- \"$1/info.tmp\" \"$1/info\"; then exit 0; fi\n"
    "  rm -rf -- \"$1\"; exit 2\n"
    "fi\n"
    "[ -d \"$1\" ] && exit 3\n"
    "printf '%s\\n' \"$e\" >&2; exit 2\n";

// Prints "<server now> <lock dir mtime>" (unix seconds) and then the info file, if any.
// Exit 3: there is no lock.
const std::string kReadScript =
    "now=$(date +%s) || exit 2\n"
    "m=$(stat -c %Y -- \"$1\" 2>/dev/null) || exit 3\n"
    "printf '%s %s\\n' \"$now\" \"$m\"\n"
    "cat -- \"$1/info\" 2>/dev/null\n"
    "exit 0\n";

// Removes the lock only if its info is still what stdin says (empty: no info), so a lock that
// changed hands since we looked is never removed. Exit 4 (printing the current info): it changed.
const std::string kRemoveIfScript =
    "exp=$(cat)\n"
    "[ -d \"$1\" ] || exit 0\n"
    "cur=$(cat -- \"$1/info\" 2>/dev/null)\n"
    "if [ \"$cur\" != \"$exp\" ]; then printf '%s' \"$cur\"; exit 4; fi\n"
    "rm -rf -- \"$1\"\n";

// Why a script failed: its stderr, else its exit status.
std::string why(const RemoteResult& r) {
  auto end = r.err.find_last_not_of(" \t\r\n");
  if (end != std::string::npos) return r.err.substr(0, end + 1);
  return "exit status " + std::to_string(r.exit_status);
}

struct Observed {
  long long now = 0;    // the server's clock
  long long mtime = 0;  // of the lock directory
  std::string raw;      // the info file as read ("" if none)
  std::optional<LockInfo> info;
};

std::string rfc3339(long long unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string local_hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string host_of(const std::string& who) {
  auto at = who.rfind('@');
  return at == std::string::npos ? who : who.substr(at + 1);
}

std::string to_json(const LockInfo& i) {
  json j = {{"who", i.who},         {"host", i.host},
            {"when", i.when},       {"taken_at", i.taken_at},
            {"version", i.version}, {"pid", i.pid},
            {"message", i.message}, {"lease_seconds", i.lease_seconds}};
  // A message that is not UTF-8 is kept, with U+FFFD for its bad bytes.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

long long number_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

// nullopt if the text is not an info file (empty, half-written, or not ours).
std::optional<LockInfo> parse_info(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  LockInfo i;
  i.who = text_field(j, "who");
  if (i.who.empty()) return std::nullopt;
  i.host = text_field(j, "host");
  if (i.host.empty()) i.host = host_of(i.who);
  i.taken_at = number_field(j, "taken_at");
  i.when = text_field(j, "when");
  if (i.when.empty()) i.when = rfc3339(i.taken_at);
  i.version = text_field(j, "version");
  i.pid = number_field(j, "pid");
  i.message = text_field(j, "message");
  i.lease_seconds = number_field(j, "lease_seconds");
  return i;
}

// What status() reports for a lock directory without readable info.
LockInfo unknown_holder(long long mtime) {
  LockInfo i;
  i.taken_at = mtime;
  i.when = rfc3339(mtime);
  return i;
}

bool local_process_gone(long long pid) {
  if (pid <= 0 || pid > INT_MAX) return false;
  return kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH;
}

// Why the holder of `seen` is gone, or "" if it may still be working.
std::string stale_reason(const Observed& seen) {
  if (!seen.info) {
    if (seen.now - seen.mtime >= kInfoGraceSeconds) {
      return "the lock has had no info for " + std::to_string(seen.now - seen.mtime) + " s";
    }
    return "";
  }
  const LockInfo& i = *seen.info;
  if (i.host == local_hostname() && local_process_gone(i.pid)) {
    return "pid " + std::to_string(i.pid) + " is not running";
  }
  if (i.lease_seconds > 0 && seen.now >= i.taken_at + i.lease_seconds) {
    return "its lease of " + std::to_string(i.lease_seconds) + " s has passed";
  }
  return "";
}

std::optional<Observed> observe(RemoteExecutor& remote, const std::string& dir) {
  RemoteCommand cmd;
  cmd.argv = {"sh", "-c", kReadScript, "sh", dir};
  auto r = remote.run(cmd);
  if (!r) throw Error("reading the deploy lock " + dir + " on " + remote.name() + ": " + r.error());
  if (r->exit_status == 3) return std::nullopt;
  Observed seen;
  auto nl = r->out.find('\n');
  std::istringstream head(r->out.substr(0, nl));
  if (r->exit_status != 0 || nl == std::string::npos || !(head >> seen.now >> seen.mtime)) {
    throw Error("reading the deploy lock " + dir + " on " + remote.name() + ": " +
                (r->exit_status == 0 ? "unexpected output" : why(*r)));
  }
  seen.raw = r->out.substr(nl + 1);
  seen.info = parse_info(seen.raw);
  return seen;
}

// Removes the lock if its info is still `expected`. Returns nullopt if removed (or already
// gone), else the info now there.
std::optional<std::string> remove_if(RemoteExecutor& remote, const std::string& dir,
                                     const std::string& expected) {
  RemoteCommand cmd;
  cmd.argv = {"sh", "-c", kRemoveIfScript, "sh", dir};
  cmd.stdin_data = expected;
  auto r = remote.run(cmd);
  if (!r)
    throw Error("removing the deploy lock " + dir + " on " + remote.name() + ": " + r.error());
  if (r->exit_status == 4) return r->out;
  if (r->exit_status != 0) {
    throw Error("removing the deploy lock " + dir + " on " + remote.name() + ": " + why(*r));
  }
  return std::nullopt;
}

}  // namespace

std::string lock_dir(const std::string& service) {
  return "/var/lib/podlift/" + service + "/lock";
}

std::string describe_lock(const LockInfo& info) {
  std::string when = info.when.empty() ? rfc3339(info.taken_at) : info.when;
  if (info.who.empty()) return "an unknown holder (lock without info) since " + when;
  std::string out = info.who;
  if (info.pid > 0) out += " (pid " + std::to_string(info.pid) + ")";
  out += " since " + when;
  if (!info.version.empty()) out += " deploying " + short_version(info.version);
  if (!info.message.empty()) {
    out += ": " + json(info.message).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

std::string local_identity() {
  std::string user;
  if (const char* u = std::getenv("USER"); u && *u) {
    user = u;
  } else if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) {
    user = pw->pw_name;
  } else {
    user = "uid" + std::to_string(geteuid());
  }
  return user + "@" + local_hostname();
}

DeployLock::DeployLock(RemoteExecutor& remote, std::string service, Clock& clock, Warn warn)
    : remote_(remote), service_(std::move(service)), clock_(clock), warn_(std::move(warn)) {}

DeployLock::~DeployLock() {
  try {
    release();
  } catch (...) {  // NOLINT(bugprone-empty-catch): best effort; the lease ends it otherwise
  }
}

void DeployLock::acquire(const std::string& version, const std::string& message,
                         std::chrono::seconds wait, std::chrono::seconds lease) {
  LockInfo mine;
  mine.version = version;
  mine.message = message;
  mine.pid = static_cast<long long>(getpid());
  mine.lease_seconds = lease.count();
  take(mine, wait);
}

void DeployLock::acquire_detached(const std::string& message, std::chrono::seconds wait,
                                  std::chrono::seconds lease) {
  LockInfo mine;
  mine.message = message;
  mine.pid = 0;
  mine.lease_seconds = lease.count() > 0 ? lease.count() : 0;
  take(mine, wait);
  held_ = false;  // stays on the server after we exit
}

void DeployLock::take(const LockInfo& wanted, std::chrono::seconds wait) {
  if (held_) throw Error("deploy lock of " + service_ + " is already held by this process");
  const std::string dir = lock_dir(service_);
  const auto deadline = clock_.now() + wait;
  bool just_reclaimed = false;
  int vanished = 0;
  for (;;) {
    LockInfo mine = wanted;
    mine.who = local_identity();
    mine.host = host_of(mine.who);
    mine.taken_at = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    mine.when = rfc3339(mine.taken_at);
    const std::string text = to_json(mine);

    RemoteCommand cmd;
    cmd.argv = {"sh", "-c", kTakeScript, "sh", dir};
    cmd.stdin_data = text;
    auto r = remote_.run(cmd);
    if (!r) {
      throw Error("taking the deploy lock " + dir + " on " + remote_.name() + ": " + r.error());
    }
    if (r->exit_status == 0) {
      held_ = true;
      info_text_ = text;
      return;
    }
    if (r->exit_status != 3) {
      throw Error("taking the deploy lock " + dir + " on " + remote_.name() + ": " + why(*r));
    }

    auto seen = observe(remote_, dir);
    if (!seen) {  // released between our mkdir and our read: try again at once
      if (++vanished <= kVanishedRetries) continue;
    } else if (!just_reclaimed && !stale_reason(*seen).empty()) {
      LockInfo holder = seen->info ? *seen->info : unknown_holder(seen->mtime);
      warn_("reclaiming stale deploy lock of service " + service_ + " held by " +
            describe_lock(holder) + " (" + stale_reason(*seen) + ")");
      remove_if(remote_, dir, seen->raw);  // if it changed meanwhile, the next round sees that
      just_reclaimed = true;
      continue;
    }
    just_reclaimed = false;
    vanished = 0;
    if (clock_.now() < deadline) {
      clock_.sleep_for(std::chrono::seconds(1));
      continue;
    }
    std::string holder = !seen        ? "someone else (it keeps changing hands)"
                         : seen->info ? describe_lock(*seen->info)
                                      : describe_lock(unknown_holder(seen->mtime));
    throw LockedError("deploy lock of " + service_ + " is held by " + holder +
                      "; wait with --lock-wait SECONDS or release it with `podlift lock release`");
  }
}

void DeployLock::release() {
  if (!held_) return;
  held_ = false;
  auto now_there = remove_if(remote_, lock_dir(service_), info_text_);
  if (now_there) {
    auto info = parse_info(*now_there);
    warn_("deploy lock of service " + service_ + " was reclaimed by " +
          (info ? describe_lock(*info) : std::string("someone else")) + "; left it alone");
  }
}

std::optional<LockInfo> DeployLock::status() {
  auto seen = observe(remote_, lock_dir(service_));
  if (!seen) return std::nullopt;
  return seen->info ? *seen->info : unknown_holder(seen->mtime);
}

std::optional<LockInfo> DeployLock::force_release() {
  const std::string dir = lock_dir(service_);
  auto seen = observe(remote_, dir);
  if (!seen) return std::nullopt;
  run_checked(remote_, {"rm", "-rf", "--", dir}, "removing the deploy lock " + dir);
  if (held_ && seen->raw == info_text_) held_ = false;
  return seen->info ? *seen->info : unknown_holder(seen->mtime);
}

}  // namespace podlift
