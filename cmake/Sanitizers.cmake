# -DDATAFOLD_SANITIZE=address,undefined  or  -DDATAFOLD_SANITIZE=thread
# scripts/sanitize.sh builds both trees and runs the tests each is for. Every report
# fails the program: UBSan aborts (-fno-sanitize-recover=all), ASan halts by default,
# TSan exits non-zero at the end (the script makes it stop at the first report).
if(DATAFOLD_SANITIZE)
  add_compile_options(-fsanitize=${DATAFOLD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${DATAFOLD_SANITIZE})
endif()
# The fuzz build (fuzz/CMakeLists.txt) instruments the whole tree for coverage:
# -DDATAFOLD_FUZZ_FLAGS=-fsanitize=fuzzer-no-link
set(DATAFOLD_FUZZ_FLAGS "" CACHE STRING "Extra compile flags for a libFuzzer build of the whole tree")
if(DATAFOLD_FUZZ_FLAGS)
  separate_arguments(_datafold_fuzz_flags UNIX_COMMAND "${DATAFOLD_FUZZ_FLAGS}")
  add_compile_options(${_datafold_fuzz_flags})
endif()

# Asio 1.22 enables C++20 coroutines under clang only with libc++; with libstdc++
# they work, but must be switched on by hand. -fsanitize=function cannot handle
# coroutine frames in clang 14.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_compile_definitions(ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
  if(DATAFOLD_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize=function)
  endif()
endif()
