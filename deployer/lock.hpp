// The deploy lock: one per service, held on the primary server (config.servers[0]) as the
// directory /var/lib/podlift/<service>/lock (mkdir is atomic) holding an `info` file (JSON: who
// as user@host, when as RFC 3339 UTC + unix seconds, version, pid, message, lease_seconds).
//
// A lock whose holder is gone is reclaimed with a warning: the recorded host is this host and
// the recorded pid is not running, or the lease (taken time + lease_seconds) has passed.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "deployer/remote.hpp"

namespace podlift {

struct LockInfo {
  std::string who;         // user@host
  std::string host;        // host part of who (the machine the holder runs on)
  std::string when;        // RFC 3339 UTC
  long long taken_at = 0;  // unix seconds
  std::string version;     // what is being deployed ("" if unknown)
  long long pid = 0;
  std::string message;
  long long lease_seconds = 0;  // 0: no lease (held until released)
};

std::string lock_dir(const std::string& service);  // /var/lib/podlift/<service>/lock
// One line for humans: root@buildbox (pid 4242) since 2026-12-03T19:07:37Z deploying
// 0123456789ab: "message". A lock directory without info reads "an unknown holder ...".
std::string describe_lock(const LockInfo& info);

class DeployLock {
 public:
  using Warn = std::function<void(const std::string&)>;
  DeployLock(RemoteExecutor& remote, std::string service, Clock& clock, Warn warn);
  ~DeployLock();  // releases if held (best effort)
  DeployLock(const DeployLock&) = delete;
  DeployLock& operator=(const DeployLock&) = delete;

  // Takes the lock, waiting up to `wait` (polling every second) while someone else holds it.
  // Throws Error naming the holder (describe_lock) if it is still held after `wait`.
  void acquire(const std::string& version, const std::string& message,
               std::chrono::seconds wait = std::chrono::seconds(0),
               std::chrono::seconds lease = std::chrono::minutes(30));
  // Takes the lock for a person rather than for this process (`podlift lock acquire`, e.g. for a
  // maintenance window): records pid 0, so it is never reclaimed for a dead process, and leaves
  // it on the server when this object goes away. It ends with `podlift lock release` or, if
  // `lease` is positive, when the lease passes (0: no lease).
  void acquire_detached(const std::string& message, std::chrono::seconds wait,
                        std::chrono::seconds lease);
  // Releases the lock if this object holds it, and only if the lock on the server is still ours
  // (same info: who, pid, time); a lock someone reclaimed from us is left alone, with a warning.
  void release();
  bool held() const { return held_; }

  // Who holds the lock now (nullopt: nobody). A lock directory without readable info (someone
  // mid-acquire) is returned with an empty `who` and taken_at = the directory's mtime.
  std::optional<LockInfo> status();
  // Removes the lock whoever holds it (for `podlift lock release`). Returns the removed holder.
  std::optional<LockInfo> force_release();

 private:
  RemoteExecutor& remote_;
  std::string service_;
  Clock& clock_;
  Warn warn_;
  bool held_ = false;
  std::string info_text_;  // the info file we wrote, to recognise our lock when releasing

  void take(const LockInfo& mine, std::chrono::seconds wait);
};

// user@host of this process (for `who`).
std::string local_identity();

}  // namespace podlift
