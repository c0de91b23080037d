# Warnings for our own targets only; generated protobuf code gets none.
function(datafold_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
endfunction()
