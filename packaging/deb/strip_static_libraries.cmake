# CPACK_PRE_BUILD_SCRIPTS (cmake/Package.cmake): runs on the staging tree before the
# package is made. CPACK_STRIP_FILES strips the executable but leaves static
# libraries alone, and a RelWithDebInfo libdatafold_net.a is mostly debug info
# (~250 MB). Debian's dh_strip removes it the same way; linking is unaffected.
file(GLOB_RECURSE _archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(_archive IN LISTS _archives)
  execute_process(
    COMMAND ${CPACK_DATAFOLD_STRIP} --strip-debug --remove-section=.comment --remove-section=.note
            --enable-deterministic-archives ${_archive}
    RESULT_VARIABLE _result)
  if(NOT _result STREQUAL "0")
    message(FATAL_ERROR "cannot strip ${_archive}: ${_result}")
  endif()
endforeach()
