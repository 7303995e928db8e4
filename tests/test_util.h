// Helpers shared by the test suites: per-test temporary files and error-message checks.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>

namespace polympc::testing {

/// A temporary path named after the running test and the process (CTest runs each test
/// case as its own process, possibly at the same time).
inline std::string temp_path(const std::string& what) {
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : test)
    if (c == '/') c = '_';  // parameterized tests: "Name/Param"
  return ::testing::TempDir() + "/polympc_" + test + "_" + std::to_string(::getpid()) + "_" + what;
}

/// The whole file (binary); empty when it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Replaces the file's content.
inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

/// The message of what f() throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

/// Expects f() to throw E with every fragment in its message.
template <class E, class F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "nothing thrown";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const std::string& s : fragments)
      EXPECT_NE(msg.find(s), std::string::npos) << "'" << s << "' not in: " << msg;
  }
}

}  // namespace polympc::testing
