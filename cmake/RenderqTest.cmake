# renderq_add_boost_tests(NAME SOURCES... LIBS...)
#
# Builds one Boost.Test binary from SOURCES and registers one ctest entry per
# top-level test suite found in them, so `ctest -R` selects suites and a failing
# suite is named in the summary. Suites that skip themselves (for example the GPU
# ones without a GPU) exit 77 and ctest reports them as skipped.
function(renderq_add_boost_tests name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/test_main.cpp)
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} Boost::unit_test_framework renderq_flags)
  target_compile_definitions(${name} PRIVATE
    RENDERQ_SOURCE_DIR="${PROJECT_SOURCE_DIR}" RENDERQ_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set(suites "")
  foreach(src IN LISTS ARG_SOURCES)
    file(READ ${src} text)
    string(REGEX MATCHALL "BOOST_(AUTO|FIXTURE)_TEST_SUITE\\([ ]*[A-Za-z0-9_]+" found "${text}")
    foreach(m IN LISTS found)
      string(REGEX REPLACE ".*\\([ ]*" "" suite "${m}")
      list(APPEND suites ${suite})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  foreach(suite IN LISTS suites)
    add_test(NAME ${name}.${suite} COMMAND ${name} --run_test=${suite} --log_level=test_suite --report_level=short)
    set_tests_properties(${name}.${suite} PROPERTIES SKIP_RETURN_CODE 77 LABELS "unit;${ARG_LABELS}")
  endforeach()
endfunction()

# renderq_add_script_test(NAME COMMAND... [TIMEOUT s] [LABELS ...] [ENV VAR=value...])
# An end-to-end test driven by a script; it gets the build and source dirs (and
# ENV) in its environment and exits 77 to report itself skipped.
function(renderq_add_script_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "COMMAND;LABELS;ENV" ${ARGN})
  add_test(NAME ${name} COMMAND ${ARG_COMMAND})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES
    TIMEOUT ${ARG_TIMEOUT} SKIP_RETURN_CODE 77 LABELS "e2e;${ARG_LABELS}"
    ENVIRONMENT "RENDERQ_BIN=${PROJECT_BINARY_DIR}/bin;RENDERQ_SOURCE_DIR=${PROJECT_SOURCE_DIR};RENDERQ_BINARY_DIR=${PROJECT_BINARY_DIR};${ARG_ENV}")
endfunction()
