// A clock that only moves when slept on, for stepping wait loops in unit tests.
#pragma once

#include "core/clock.hpp"

namespace podlift {

class FakeClock : public Clock {
 public:
  time_point now() override { return now_; }
  void sleep_for(std::chrono::milliseconds d) override {
    now_ += d;
    slept += d;
  }
  std::chrono::milliseconds slept{0};

 private:
  time_point now_{};
};

}  // namespace podlift
