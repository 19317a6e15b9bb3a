// SIGINT/SIGTERM as a request to stop: the first signal sets a flag that long waits (health
// checks, drains, transfers, lock waits) poll through check_interrupted(), which throws, so the
// normal error path cleans up (removes the new container, releases the deploy lock). A second
// signal ends the process at once.
#pragma once

namespace podlift {

void install_interrupt_handlers();
bool interrupted();
// Throws Error(ExitCode::kInterrupted) if a signal arrived.
void check_interrupted();
// For tests: pretend a signal arrived (or clear it).
void set_interrupted(bool value);

// SIGHUP as a request to reload configuration (`podlift watch`): the handler only sets a flag,
// which take_reload_request() reads and clears.
void install_reload_handler();
bool take_reload_request();

}  // namespace podlift
