// A recording ProcessRunner for unit tests: no process is started. run() and stream() answer
// with the first scripted response whose prefix starts the joined command line; unscripted
// commands exit 0 with no output.
#pragma once

#include <string>
#include <vector>

#include "core/process.hpp"
#include "core/quote.hpp"

namespace podlift {

class FakeProcessRunner : public ProcessRunner {
 public:
  struct Call {
    std::string command;  // shell_join(argv)
    std::string stdin_data;
  };
  FakeProcessRunner& on(std::string prefix, int exit_code, std::string out = {},
                        std::string err = {}) {
    scripted_.push_back(
        {std::move(prefix), ProcessResult{exit_code, std::move(out), std::move(err)}});
    return *this;
  }

  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            const ProcessOptions& options) override {
    calls.push_back({shell_join(argv), options.stdin_data});
    return answer(calls.back().command);
  }

  std::unique_ptr<ProcessStream> stream(const std::vector<std::string>& argv,
                                        const ProcessOptions& options) override {
    calls.push_back({shell_join(argv), options.stdin_data});
    return std::make_unique<Stream>(answer(calls.back().command));
  }

  size_t count(const std::string& prefix) const {
    size_t n = 0;
    for (const auto& c : calls) n += c.command.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }

  std::vector<Call> calls;

 private:
  struct Stream : ProcessStream {
    explicit Stream(ProcessResult r) : r_(std::move(r)) {}
    size_t read(char* buf, size_t cap) override {
      // Small, uneven pieces, as a pipe gives them.
      size_t n = std::min({cap, r_.out.size() - pos_, size_t{7919}});
      std::copy_n(r_.out.data() + pos_, n, buf);
      pos_ += n;
      return n;
    }
    ProcessResult finish() override { return ProcessResult{r_.exit_code, {}, r_.err}; }
    ProcessResult r_;
    size_t pos_ = 0;
  };
  ProcessResult answer(const std::string& command) {
    for (const auto& s : scripted_) {
      if (command.rfind(s.prefix, 0) == 0) return s.result;
    }
    return ProcessResult{0, {}, {}};
  }
  struct Scripted {
    std::string prefix;
    ProcessResult result;
  };
  std::vector<Scripted> scripted_;
};

}  // namespace podlift
