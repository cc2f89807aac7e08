# Run after lettagate_tests is built (tests/CMakeLists.txt): every Catch test case carries
# exactly one tier tag, [unit], [stack] or [slow]. Catch's tag expressions: [a][b] is a and b,
# ~[a] is not a, a comma is or.
#   cmake -DTESTS=path/to/lettagate_tests -P check_tiers.cmake
function(tests_matching spec out)
  execute_process(COMMAND ${TESTS} --list-test-names-only "${spec}"
    OUTPUT_VARIABLE names RESULT_VARIABLE rc ERROR_VARIABLE err)
  string(STRIP "${names}" names)
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

tests_matching("~[unit]~[stack]~[slow]" untiered)
tests_matching("[unit][stack],[unit][slow],[stack][slow]" twice)
tests_matching("[unit][serial]" serial_unit)
tests_matching("*" all)
# A semicolon is CMake's list separator: catch_discover_tests would split such a name into two
# ctest tests that match nothing and fail. A name starting with '-' reads as an option when
# ctest passes it back to the binary ("Unrecognised token"): both fail in CI, not here.
string(REGEX MATCHALL "[^\n]*;[^\n]*" semicolon "${all}")
string(REGEX MATCHALL "(^|\n)-[^\n]*" dash "${all}")
list(APPEND semicolon ${dash})
if(untiered OR twice OR serial_unit OR semicolon OR NOT all)
  message(FATAL_ERROR "lettagate_tests: each test needs exactly one tier tag, [unit], [stack] or [slow] "
    "(tests/CMakeLists.txt); [serial] is for stack and slow tests only.\n"
    "No tier:\n${untiered}\nMore than one:\n${twice}\nUnit and serial:\n${serial_unit}\n"
    "Semicolon in the name (CMake splits it) or a leading dash:\n${semicolon}\n")
endif()
