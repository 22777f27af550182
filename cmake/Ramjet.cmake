# rj_cc_library(NAME store SRCS a.cc b.cc DEPS ramjet::base)
# Creates target ramjet_<NAME> with alias ramjet::<NAME>. The module's include/ directory is its
# only PUBLIC include path; everything else in the module directory is private.
function(rj_cc_library)
  cmake_parse_arguments(RJ "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(ramjet_${RJ_NAME} STATIC ${RJ_SRCS})
  add_library(ramjet::${RJ_NAME} ALIAS ramjet_${RJ_NAME})
  target_include_directories(ramjet_${RJ_NAME}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(ramjet_${RJ_NAME} PUBLIC ${RJ_DEPS})
endfunction()

# rj_cc_test(NAME store_test SRCS x_test.cc DEPS ramjet::store LABELS store)
# A GoogleTest binary registered with CTest (tests discovered individually).
function(rj_cc_test)
  if(NOT RAMJET_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(RJ "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;PRIVATE_INCLUDES" ${ARGN})
  add_executable(${RJ_NAME} ${RJ_SRCS})
  target_link_libraries(${RJ_NAME} PRIVATE ${RJ_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_include_directories(${RJ_NAME} PRIVATE ${RJ_PRIVATE_INCLUDES})
  if(NOT RJ_TIMEOUT)
    set(RJ_TIMEOUT 300)
  endif()
  gtest_discover_tests(${RJ_NAME} PROPERTIES LABELS "${RJ_LABELS}" TIMEOUT ${RJ_TIMEOUT}
                       DISCOVERY_TIMEOUT 60)
endfunction()
