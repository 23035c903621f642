# Included by the gcc build when FUZZ_BINARY_DIR names a built ENABLE_FUZZING tree's tests/fuzz:
# registers one ctest test per fuzzer (label "fuzz"), each fuzzing for FUZZ_SECONDS. Include it after
# enable_testing().
set(FUZZ_SECONDS 30 CACHE STRING "How long each fuzzer runs under ctest")

set(RELAY_FUZZERS fuzz_tx_decoder fuzz_address fuzz_tx_facts fuzz_tx_json)
math(EXPR relay_fuzz_timeout "${FUZZ_SECONDS} + 120")

foreach(fuzzer IN LISTS RELAY_FUZZERS)
  string(REGEX REPLACE "^fuzz_" "" target "${fuzzer}")
  set(work_dir "${CMAKE_BINARY_DIR}/fuzz/${target}")
  add_test(NAME ${fuzzer}
    COMMAND ${CMAKE_COMMAND}
      -DFUZZER=${FUZZ_BINARY_DIR}/${fuzzer}
      -DSEEDS=${CMAKE_CURRENT_LIST_DIR}/corpus/${target}
      -DWORK_DIR=${work_dir}
      -DSECONDS=${FUZZ_SECONDS}
      -P ${CMAKE_CURRENT_LIST_DIR}/run_fuzzer.cmake)
  set_tests_properties(${fuzzer} PROPERTIES LABELS fuzz TIMEOUT ${relay_fuzz_timeout})
endforeach()
