# ctest driver for one fuzzer (cmake -P): gives libFuzzer a fresh, writable copy of the checked-in
# seeds on every run, so one run's discoveries never leak into the next or into the source tree.
# Inputs: FUZZER, SEEDS, WORK_DIR, SECONDS.
foreach(var FUZZER SEEDS WORK_DIR SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${FUZZER}")
  message(FATAL_ERROR "run_fuzzer.cmake: ${FUZZER} does not exist; build the ENABLE_FUZZING tree first")
endif()

set(corpus "${WORK_DIR}/corpus")
file(REMOVE_RECURSE "${corpus}")
file(MAKE_DIRECTORY "${corpus}")
file(GLOB seeds "${SEEDS}/*")
if(seeds)
  file(COPY ${seeds} DESTINATION "${corpus}")
endif()

# Crash reproducers land in WORK_DIR (libFuzzer writes them to its working directory).
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -rss_limit_mb=2048 -print_final_stats=1
          "${corpus}" "${SEEDS}"
  WORKING_DIRECTORY "${WORK_DIR}"
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${result}); reproducers, if any, are in ${WORK_DIR}")
endif()
