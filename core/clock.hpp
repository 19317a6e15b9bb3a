// Time, behind an interface so loops that wait (health checks, the watcher) can be stepped by
// tests with a fake clock.
#pragma once

#include <chrono>
#include <thread>

namespace podlift {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
  // Wall-clock time, for timestamps people read (history, status page, metrics).
  virtual std::chrono::system_clock::time_point wall() { return std::chrono::system_clock::now(); }
};

class SystemClock : public Clock {
 public:
  time_point now() override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};

}  // namespace podlift
