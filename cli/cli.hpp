// The command-line interface: one command table (name, summary, handler), parsed with CLI11.
#pragma once

namespace podlift::cli {
// Parses argv, runs the command, catches every podlift::Error once and prints
// "podlift: error: <what>". Returns an ExitCode value.
int run(int argc, char** argv);
}  // namespace podlift::cli
