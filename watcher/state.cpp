#include "watcher/state.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace podlift::watcher {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Holds an exclusive flock on <dir>/lock for its lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& dir) {
    std::string path = dir + "/lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error(sys_error("cannot open", path));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) throw Error(sys_error("cannot lock", path));
    }
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// The file's JSON, or nullopt when it does not exist. Throws Error when it cannot be parsed.
std::optional<json> read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || !fs::exists(path)) return std::nullopt;
    throw Error(sys_error("cannot read", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::exception& e) {
    throw Error(path + " is not valid JSON (" + e.what() +
                "); move it away to start over, the watcher will not guess");
  }
}

// Writes to a temporary file, fsyncs it, renames it over `path` and fsyncs the directory.
void write_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(sys_error("cannot write", tmp));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw Error(sys_error("cannot write", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw Error(sys_error("cannot sync", tmp));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw Error(sys_error("cannot replace", path));
  std::string dir = fs::path(path).parent_path().string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::vector<DeployRecord> read_history(const std::string& dir) {
  auto j = read_json(dir + "/history.json");
  if (!j) return {};
  try {
    return j->at("deploys").get<std::vector<DeployRecord>>();
  } catch (const json::exception& e) {
    throw Error(dir + "/history.json has an unexpected form (" + e.what() + ")");
  }
}

void write_history(const std::string& dir, const std::vector<DeployRecord>& records) {
  write_atomic(dir + "/history.json", json{{"deploys", records}}.dump(1) + "\n");
}

}  // namespace

void to_json(json& j, const StepTiming& t) {
  j = json{{"step", t.step}, {"ms", t.ms}};
}
void from_json(const json& j, StepTiming& t) {
  t.step = j.value("step", "");
  t.ms = j.value("ms", 0LL);
}

void to_json(json& j, const DeployRecord& r) {
  j = json{{"id", r.id},
           {"trigger", r.trigger},
           {"sha", r.sha},
           {"previous", r.previous},
           {"forced", r.forced},
           {"started_ms", r.started_ms},
           {"ended_ms", r.ended_ms},
           {"result", r.result},
           {"error", r.error},
           {"step", r.step},
           {"steps", r.steps},
           {"pid", r.pid}};
}
void from_json(const json& j, DeployRecord& r) {
  r.id = j.value("id", 0LL);
  r.trigger = j.value("trigger", "");
  r.sha = j.value("sha", "");
  r.previous = j.value("previous", "");
  r.forced = j.value("forced", false);
  r.started_ms = j.value("started_ms", 0LL);
  r.ended_ms = j.value("ended_ms", 0LL);
  r.result = j.value("result", "");
  r.error = j.value("error", "");
  r.step = j.value("step", "");
  r.steps = j.value("steps", std::vector<StepTiming>{});
  r.pid = j.value("pid", 0LL);
}

void to_json(json& j, const WatchState& s) {
  j = json{{"last_seen", s.last_seen},           {"branch_missing", s.branch_missing},
           {"last_poll_ms", s.last_poll_ms},     {"last_poll_error", s.last_poll_error},
           {"deployed_tip", s.deployed_tip},     {"live", s.live},
           {"failed_sha", s.failed_sha},         {"failed_attempts", s.failed_attempts},
           {"retry_after_ms", s.retry_after_ms}, {"paused", s.paused},
           {"paused_by", s.paused_by},           {"paused_note", s.paused_note},
           {"paused_at_ms", s.paused_at_ms}};
}
void from_json(const json& j, WatchState& s) {
  s.last_seen = j.value("last_seen", "");
  s.branch_missing = j.value("branch_missing", false);
  s.last_poll_ms = j.value("last_poll_ms", 0LL);
  s.last_poll_error = j.value("last_poll_error", "");
  s.deployed_tip = j.value("deployed_tip", "");
  s.live = j.value("live", std::map<std::string, std::string>{});
  s.failed_sha = j.value("failed_sha", "");
  s.failed_attempts = j.value("failed_attempts", 0);
  s.retry_after_ms = j.value("retry_after_ms", 0LL);
  s.paused = j.value("paused", false);
  s.paused_by = j.value("paused_by", "");
  s.paused_note = j.value("paused_note", "");
  s.paused_at_ms = j.value("paused_at_ms", 0LL);
}

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) {
    throw Error("cannot create the watcher's state directory " + dir_ + ": " + ec.message());
  }
  ::chmod(dir_.c_str(), 0700);
}

WatchState StateStore::load() const {
  auto j = read_json(dir_ + "/state.json");
  if (!j) return {};
  try {
    return j->get<WatchState>();
  } catch (const json::exception& e) {
    throw Error(dir_ + "/state.json has an unexpected form (" + e.what() + ")");
  }
}

void StateStore::update(const std::function<void(WatchState&)>& change) {
  FileLock lock(dir_);
  WatchState s = load();
  change(s);
  write_atomic(dir_ + "/state.json", json(s).dump(1) + "\n");
}

std::vector<DeployRecord> StateStore::history() const {
  return read_history(dir_);
}

long long StateStore::record(DeployRecord record) {
  FileLock lock(dir_);
  auto all = read_history(dir_);
  if (record.id == 0) {
    long long top = 0;
    for (const auto& r : all) top = std::max(top, r.id);
    record.id = top + 1;
  }
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& r) { return r.id == record.id; });
  if (it != all.end()) {
    *it = record;
  } else {
    all.push_back(record);
  }
  if (all.size() > kHistoryLimit) all.erase(all.begin(), all.end() - kHistoryLimit);
  write_history(dir_, all);
  return record.id;
}

int StateStore::close_abandoned(long long now_ms) {
  FileLock lock(dir_);
  auto all = read_history(dir_);
  int n = 0;
  for (auto& r : all) {
    if (r.result != "running") continue;
    if (r.pid > 0 && (::kill(static_cast<pid_t>(r.pid), 0) == 0 || errno != ESRCH)) continue;
    r.result = "interrupted";
    r.ended_ms = now_ms;
    r.error = "the deploying process ended during \"" + r.step + "\" (killed or crashed)";
    ++n;
  }
  if (n) write_history(dir_, all);
  return n;
}

}  // namespace podlift::watcher
