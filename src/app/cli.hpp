#pragma once
#include <string>
#include <vector>

namespace lg::app::cli {

// lettagate [serve|check|wait|version|help] [flags]; returns the process exit code
// (0 ok, 1 not ready / failed, 2 bad usage or configuration).
int run(const std::vector<std::string>& args);

// `lettagate check`: GET the readiness URL once; 0 ready, 1 not ready, 2 usage.
int run_check(const std::vector<std::string>& args);

// `lettagate wait`: probe the stack like serve until every required component is up;
// 0 ready, 1 not ready after --timeout (or interrupted), 2 bad configuration.
int run_wait(const std::vector<std::string>& args);

}  // namespace lg::app::cli
