# tacos_module(NAME SOURCES ... DEPS ... [UNIT_TESTS ...] [POSTGRES_TESTS ...] [REDIS_TESTS ...])
#
# Declares one module of src/ as a static library `tacos_<NAME>` with its sources, its
# dependencies and its unit tests (each test file becomes one GoogleTest executable labelled
# `unit`). POSTGRES_TESTS are the same but need a PostgreSQL server: labelled `postgres`, they
# require the ctest fixture `postgres` (scripts/test-postgres.sh, started once per ctest run) and
# find it through TACOS_TEST_POSTGRES (tests/support/postgres.hpp); REDIS_TESTS likewise need the
# fixture `redis` (scripts/test-redis.sh, TACOS_TEST_REDIS, tests/support/redis.hpp), label
# `redis`. A file in UNIT_TESTS and REDIS_TESTS (or POSTGRES_TESTS) is one executable with both
# labels: a unit test the sanitizer builds run too, that also needs the server. One call per module keeps the
# dependency graph readable in one place. The fuzz build (TACOS_FUZZ) declares the libraries only.
function(tacos_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;UNIT_TESTS;POSTGRES_TESTS;REDIS_TESTS" ${ARGN})
  set(target tacos_${name})
  add_library(${target} STATIC ${M_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${M_DEPS} PRIVATE tacos_warnings tacos_sanitizers)
  target_link_libraries(${target} INTERFACE tacos_sanitizers)
  if(TACOS_FUZZ)
    return()
  endif()
  set(test_srcs ${M_UNIT_TESTS} ${M_POSTGRES_TESTS} ${M_REDIS_TESTS})
  list(REMOVE_DUPLICATES test_srcs)
  foreach(test_src IN LISTS test_srcs)
    get_filename_component(test_file ${test_src} NAME_WE)
    set(test_name ${name}_${test_file})  # e.g. queue_service_test: unique across modules
    add_executable(${test_name} ${test_src})
    target_link_libraries(${test_name} PRIVATE ${target} GTest::gtest_main
      tacos_warnings tacos_sanitizers)
    target_compile_definitions(${test_name} PRIVATE TACOS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    target_include_directories(${test_name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)  # support/temp_dir.hpp
    add_test(NAME ${test_name} COMMAND ${test_name})
    set(labels "")
    set(fixtures "")
    set(env "")
    if(test_src IN_LIST M_UNIT_TESTS)
      list(APPEND labels unit)
      set_property(GLOBAL APPEND PROPERTY TACOS_UNIT_TESTS ${test_name})
    endif()
    if(test_src IN_LIST M_POSTGRES_TESTS)
      list(APPEND labels postgres)
      list(APPEND fixtures postgres)
      list(APPEND env TACOS_TEST_POSTGRES=${TACOS_TEST_POSTGRES_DIR})
    endif()
    if(test_src IN_LIST M_REDIS_TESTS)
      list(APPEND labels redis)
      list(APPEND fixtures redis)
      list(APPEND env TACOS_TEST_REDIS=${TACOS_TEST_REDIS_DIR})
    endif()
    set_tests_properties(${test_name} PROPERTIES LABELS "${labels}" TIMEOUT 120)
    if(fixtures)
      set_tests_properties(${test_name} PROPERTIES FIXTURES_REQUIRED "${fixtures}" ENVIRONMENT "${env}")
    endif()
  endforeach()
endfunction()
