# cmake -P script behind the CTest test `cmake_consumer`: installs the built
# library into a scratch prefix, configures and builds tests/cmake_consumer
# against that prefix only, and runs the result. Any failing step fails the test.
#
# Inputs (-D): BUILD_DIR (the datafold build tree), CONSUMER_SOURCE_DIR, WORK_DIR
# (scratch, wiped first), GENERATOR, CXX_COMPILER; optional: CONFIG (build type),
# COMPONENT (install component), SANITIZE (DATAFOLD_SANITIZE value).
cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)

# Runs one step; stops the script (failing the test) with the step's output if it fails.
function(run_step name)
  message(STATUS "cmake_consumer: ${name}")
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE result
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT result STREQUAL "0")
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "cmake_consumer: ${name} failed (${result})\n  command: ${command}\n${out}")
  endif()
  message("${out}")
endfunction()

# A stale prefix could hide a header or file the install no longer provides.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

set(install_args --install ${BUILD_DIR} --prefix ${prefix})
if(CONFIG)
  list(APPEND install_args --config ${CONFIG})
endif()
if(COMPONENT)
  list(APPEND install_args --component ${COMPONENT})
endif()
run_step("install into ${prefix}" ${CMAKE_COMMAND} ${install_args})

set(configure_args
  -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
  -DCMAKE_PREFIX_PATH=${prefix}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  # Only the scratch prefix and the system: never a user's or the build tree's package registry.
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(CONFIG)
  list(APPEND configure_args -DCMAKE_BUILD_TYPE=${CONFIG})
endif()
if(SANITIZE)
  # An instrumented static library needs the sanitizer runtime at link time.
  list(APPEND configure_args "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE}")
endif()
run_step("configure the consumer" ${CMAKE_COMMAND} ${configure_args})

set(build_args --build ${consumer_build})
if(CONFIG)
  list(APPEND build_args --config ${CONFIG})
endif()
run_step("build the consumer" ${CMAKE_COMMAND} ${build_args})

# Single-config generators put the binary at the top; multi-config ones in <config>/.
set(binary ${consumer_build}/datafold_consumer)
if(NOT EXISTS ${binary} AND CONFIG)
  set(binary ${consumer_build}/${CONFIG}/datafold_consumer)
endif()
run_step("run the consumer" ${binary})
