// systemd's notify protocol (libsystemd's sd_notify): READY=1 once listening, STATUS= lines,
// WATCHDOG=1 pings, STOPPING=1. Every call is a no-op when not started by systemd (no
// NOTIFY_SOCKET), so `podlift watch` runs the same in a terminal.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace podlift::watcher {

void notify_ready(const std::string& status);
void notify_status(const std::string& status);
void notify_stopping();
void notify_watchdog();
// Half of WatchdogSec= when systemd asked for pings, else nullopt.
std::optional<std::chrono::milliseconds> watchdog_interval();

}  // namespace podlift::watcher
