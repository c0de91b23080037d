# Warnings for our own targets only; generated protobuf code gets none.
function(datafold_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  # A unity batch #includes each source file, and GCC keeps -Wsubobject-linkage quiet
  # only for types of the main file: every file's own anonymous-namespace types (and
  # coroutine frames) then draw it, dozens of false reports per build. A tree built
  # file by file still warns where it matters, in headers.
  if(CMAKE_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()
