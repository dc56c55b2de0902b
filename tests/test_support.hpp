#pragma once
// Helpers shared by the Catch2 test files.

#include <filesystem>
#include <string>

namespace lepsim::test {

//! A scratch folder for this test process, `lepsim-test-NAME-PID` in the system's
//! temporary directory: created on first use, removed with everything in it at exit.
std::filesystem::path scratch_dir(const std::string& name);

}  // namespace lepsim::test
