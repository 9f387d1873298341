# Runs one libFuzzer target for CTest: `cmake -DFUZZER=... -P run_fuzzer.cmake`.
#
#   FUZZER          the fuzz binary
#   DICT            dictionary file
#   SEEDS           folder of seed inputs (tests/fuzz/seeds)
#   REGRESSIONS     folder of inputs that once crashed or hung; replayed first
#   SOURCE_DIR      optional, for the policy fuzzer: every *.policy below
#                   examples/ and policies/ of this repository root is a seed too
#   WORK_DIR        writable folder under the build dir: corpus/ and artifacts/
#   MAX_TOTAL_TIME  seconds to fuzz; 0 replays the regressions only
#   MAX_LEN         optional, the longest input libFuzzer makes (default 16384)
#
# Fails (FATAL_ERROR) on any crash, sanitizer report, leak, timeout or OOM.

foreach(var FUZZER DICT SEEDS REGRESSIONS WORK_DIR MAX_TOTAL_TIME)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

if(NOT DEFINED MAX_LEN)
  set(MAX_LEN 16384)
endif()
get_filename_component(fuzzer_name "${FUZZER}" NAME)

set(limits -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048)
set(artifacts "${WORK_DIR}/artifacts")
file(MAKE_DIRECTORY "${artifacts}")

# 1. Regressions: each file executed once. Inputs that only fail when large
#    (memory or time growing with size) are stored as `*.tar.gz` and
#    unpacked into the work dir first.
file(GLOB regressions LIST_DIRECTORIES false "${REGRESSIONS}/*")
list(FILTER regressions EXCLUDE REGEX "/(README[^/]*|\\.[^/]*)$")
set(archives ${regressions})
list(FILTER archives INCLUDE REGEX "\\.tar\\.gz$")
list(FILTER regressions EXCLUDE REGEX "\\.tar\\.gz$")
set(unpacked "${WORK_DIR}/regressions")
file(REMOVE_RECURSE "${unpacked}")
foreach(archive IN LISTS archives)
  file(ARCHIVE_EXTRACT INPUT "${archive}" DESTINATION "${unpacked}")
endforeach()
if(archives)
  file(GLOB_RECURSE extracted LIST_DIRECTORIES false "${unpacked}/*")
  list(APPEND regressions ${extracted})
endif()
if(regressions)
  list(LENGTH regressions count)
  message(STATUS "replaying ${count} regression input(s)")
  # One process per input: libFuzzer stops at the first failure, and every
  # input that fails again should be reported, not only the first.
  set(failed "")
  foreach(input IN LISTS regressions)
    get_filename_component(name "${input}" NAME)
    execute_process(
      COMMAND "${FUZZER}" ${limits} -artifact_prefix=${artifacts}/regression- "${input}"
      RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE log)
    if(rc EQUAL 0)
      message(STATUS "  ok      ${name}")
    else()
      string(REGEX MATCH "(ERROR|SUMMARY|runtime error)[^\n]*" first_error "${log}")
      message(STATUS "  FAILED  ${name} (exit ${rc}): ${first_error}")
      file(WRITE "${artifacts}/regression-${name}.log" "${log}")
      list(APPEND failed "${name}")
    endif()
  endforeach()
  if(failed)
    message(FATAL_ERROR "regression input(s) fail again: ${failed}; logs in ${artifacts}/regression-*.log")
  endif()
endif()

if(MAX_TOTAL_TIME EQUAL 0)
  return()
endif()

# 2. Fuzzing: the working corpus keeps growing across runs in the build dir;
#    seeds are (re)copied each time so new examples and policies join it.
set(corpus "${WORK_DIR}/corpus")
file(MAKE_DIRECTORY "${corpus}")
file(GLOB seeds LIST_DIRECTORIES false "${SEEDS}/*")
list(FILTER seeds EXCLUDE REGEX "/(README[^/]*|\\.[^/]*)$")
set(policies "")
if(DEFINED SOURCE_DIR)
  file(GLOB_RECURSE policies LIST_DIRECTORIES false
       "${SOURCE_DIR}/examples/*.policy" "${SOURCE_DIR}/policies/*.policy")
endif()
foreach(seed IN LISTS seeds)
  get_filename_component(name "${seed}" NAME)
  file(COPY_FILE "${seed}" "${corpus}/seed_${name}" ONLY_IF_DIFFERENT)
endforeach()
foreach(seed IN LISTS policies)
  # Flatten paths into unique names: examples/a/b.policy -> examples_a_b.policy
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${seed}")
  string(REGEX REPLACE "[/\\\\]" "_" name "${rel}")
  file(COPY_FILE "${seed}" "${corpus}/seed_${name}" ONLY_IF_DIFFERENT)
endforeach()

message(STATUS "fuzzing for ${MAX_TOTAL_TIME} s; corpus ${corpus}; crashes go to ${artifacts}")
execute_process(
  COMMAND "${FUZZER}" ${limits} -max_total_time=${MAX_TOTAL_TIME} -dict=${DICT}
          -max_len=${MAX_LEN} -print_final_stats=1 -artifact_prefix=${artifacts}/ "${corpus}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${fuzzer_name} found a crash, leak, timeout or OOM (exit ${rc}); "
                      "the input is in ${artifacts}/. Minimise it with "
                      "`${FUZZER} -minimize_crash=1 -runs=10000 <file>` and add it to tests/fuzz/regressions/")
endif()
