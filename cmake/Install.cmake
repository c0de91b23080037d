# Install rules and the CMake package: find_package(datafold_net) gives users
# the imported target datafold::net (libtorrent's LibtorrentRasterbarConfig pattern).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DATAFOLD_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/datafold_net
    CACHE STRING "Where the datafold_net CMake package files are installed, relative to the prefix")
# One component for everything a user links against, so the package can be
# installed without the executable (cmake --install <build> --component datafold_net_Development).
# tests/CMakeLists.txt (the cmake_consumer test) names this component too.
set(_datafold_component datafold_net_Development)

# The generated protobuf objects are folded into the library, so datafold_proto
# is not exported; its private link dependencies (protobuf, OpenSSL::SSL, spdlog,
# Threads) appear as $<LINK_ONLY:...> when the library is static.
install(TARGETS datafold_net
  EXPORT datafold_netTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ${_datafold_component}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ${_datafold_component}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${_datafold_component})
# The installed include dir comes from the target's $<INSTALL_INTERFACE:include>
# (src/CMakeLists.txt); adding INCLUDES DESTINATION here would list it twice.

# Only the public headers; private headers stay beside their .cpp in src/.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/datafold
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT ${_datafold_component}
  FILES_MATCHING PATTERN "*.hpp")

install(EXPORT datafold_netTargets
  NAMESPACE datafold::
  DESTINATION ${DATAFOLD_INSTALL_CMAKEDIR}
  COMPONENT ${_datafold_component})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/datafold_netConfig.cmake.in
  ${PROJECT_BINARY_DIR}/datafold_netConfig.cmake
  INSTALL_DESTINATION ${DATAFOLD_INSTALL_CMAKEDIR})
# 0.x releases: SameMajorVersion treats every 0.y as compatible; revisit at 1.0.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/datafold_netConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
    ${PROJECT_BINARY_DIR}/datafold_netConfig.cmake
    ${PROJECT_BINARY_DIR}/datafold_netConfigVersion.cmake
  DESTINATION ${DATAFOLD_INSTALL_CMAKEDIR}
  COMPONENT ${_datafold_component})
