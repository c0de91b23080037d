# -DDATAFOLD_SANITIZE=address,undefined  or  -DDATAFOLD_SANITIZE=thread
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
