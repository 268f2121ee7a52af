# Shared helpers: every target of ours gets the same warnings-as-errors and include root.

function(xy_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-unused-parameter)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
endfunction()

# xy_add_library(NAME DIR <dir> [DEPS ...]): a static library from every .cpp below <dir>
# (non-recursive into subfolders that have their own CMakeLists.txt is the caller's job).
function(xy_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  xy_target_defaults(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# xy_add_gtest(NAME SOURCES ... DEPS ...): one GoogleTest executable registered with CTest.
# Tests find their data through the XY_TESTDATA_DIR compile definition.
function(xy_add_gtest name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  xy_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)  # tests/common/
  target_compile_definitions(${name} PRIVATE XY_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/testdata"
                                             XY_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()

# xy_add_gtests_in(<dir> DEPS ...): one executable per test_*.cpp file in <dir>, named
# <module>_<file>, so a broken file never blocks the other tests of the module.
function(xy_add_gtests_in dir)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  get_filename_component(module ${dir} NAME)
  file(GLOB test_files CONFIGURE_DEPENDS ${dir}/test_*.cpp)
  foreach(f ${test_files})
    get_filename_component(stem ${f} NAME_WE)
    xy_add_gtest(${module}_${stem} SOURCES ${f} DEPS ${ARG_DEPS})
  endforeach()
endfunction()

# xy_add_fuzzer(NAME SOURCES ... DEPS ...): a libFuzzer driver (XYSERVE_FUZZ builds only).
function(xy_add_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  xy_target_defaults(${name})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()
