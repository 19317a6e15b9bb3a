// The watcher's persisted state for one service, under <state_dir>/<service>/:
//   state.json    what it last saw and deployed, retry bookkeeping, pause;
//   history.json  the last 100 deploys (trigger, SHA, forced?, times, step durations, result).
// Each file is replaced atomically (temporary file, fsync, rename, fsync of the directory), so a
// kill -9 leaves the old or the new version, never a torn one. Every read-modify-write holds an
// flock on <dir>/lock, so `podlift watch pause` or `podlift deploy` may write while the watcher
// runs. An unreadable file is an Error naming it, never silently reset.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace podlift::watcher {

struct StepTiming {
  std::string step;
  long long ms = 0;
};

struct DeployRecord {
  long long id = 0;          // increasing per service
  std::string trigger;       // "poll", "webhook github", "cli deploy", "cli rollback", "retry"
  std::string sha;           // the version deployed (full SHA)
  std::string previous;      // the branch tip before (mirror), for force-push reports
  bool forced = false;       // the branch was rewritten (force-push)
  long long started_ms = 0;  // unix milliseconds
  long long ended_ms = 0;    // 0 while running
  std::string result;        // running, success, failure, locked, interrupted
  std::string error;
  std::string step;   // the step running now (while result is "running")
  long long pid = 0;  // the process deploying (on this machine)
  std::vector<StepTiming> steps;
  long long total_ms() const { return ended_ms > started_ms ? ended_ms - started_ms : 0; }
};

struct WatchState {
  std::string last_seen;                    // the branch tip at the last successful poll
  bool branch_missing = false;              // the last poll found no such branch
  long long last_poll_ms = 0;               // unix ms of the last poll (successful or not)
  std::string last_poll_error;              // "" when the last poll worked
  std::string deployed_tip;                 // the branch tip the watcher last deployed successfully
  std::map<std::string, std::string> live;  // server -> version, as the last deploy left it
  std::string failed_sha;                   // the commit whose deploys failed, and how often
  int failed_attempts = 0;
  long long retry_after_ms = 0;  // no automatic retry of failed_sha before this (unix ms)
  bool paused = false;
  std::string paused_by;  // user@host
  std::string paused_note;
  long long paused_at_ms = 0;
};

class StateStore {
 public:
  static constexpr size_t kHistoryLimit = 100;
  // `dir` is <state_dir>/<service>; it is created (mode 0700) if missing.
  explicit StateStore(std::string dir);
  const std::string& dir() const { return dir_; }

  WatchState load() const;
  // Locked read-modify-write of state.json.
  void update(const std::function<void(WatchState&)>& change);

  std::vector<DeployRecord> history() const;  // oldest first
  // Inserts `record`, or replaces the one with its id; gives a new record (id 0) the next id,
  // which is returned.
  long long record(DeployRecord record);
  // Records left "running" by a process that is no longer alive become "interrupted" (ended at
  // now_ms). Returns how many.
  int close_abandoned(long long now_ms);

 private:
  std::string dir_;
};

// JSON forms (nlohmann's to_json/from_json), also used by `podlift watch status --json`.
void to_json(nlohmann::json& j, const StepTiming& t);
void from_json(const nlohmann::json& j, StepTiming& t);
void to_json(nlohmann::json& j, const DeployRecord& r);
void from_json(const nlohmann::json& j, DeployRecord& r);
void to_json(nlohmann::json& j, const WatchState& s);
void from_json(const nlohmann::json& j, WatchState& s);

}  // namespace podlift::watcher
