// podlift's entry point only forwards; see cli/cli.hpp.
#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return podlift::cli::run(argc, argv);
}
