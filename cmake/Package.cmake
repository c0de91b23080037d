# The Debian package (cpack -G DEB, from a build tree): the datafold executable, the
# library, its headers and CMake package, and the system service: a systemd unit
# running `datafold node` as the user datafold, its default config as a conffile.
# scripts/package_check.sh builds, installs, checks and removes it in CI.
#
# One package, named `datafold` after the program and the service it carries; the
# library's files ride along (a split into datafold + libdatafold-net-dev would be
# Debian's way for an archive, not worth a second package here).
#
# The service's files are in their own component, left out of a plain
# `cmake --install` (EXCLUDE_FROM_ALL): installing the library into a prefix must not
# write /etc or a systemd unit. The package lists every component, so it has them.
set(_datafold_deb ${PROJECT_SOURCE_DIR}/packaging/deb)
set(_datafold_service_component datafold_Service)
install(FILES ${_datafold_deb}/datafold.service
  DESTINATION lib/systemd/system
  COMPONENT ${_datafold_service_component} EXCLUDE_FROM_ALL)
install(FILES ${_datafold_deb}/datafold.toml
  DESTINATION /etc/datafold
  COMPONENT ${_datafold_service_component} EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md
              ${PROJECT_SOURCE_DIR}/docs/SECURITY.md
  DESTINATION share/doc/datafold
  COMPONENT ${_datafold_service_component} EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME datafold)
set(CPACK_PACKAGE_VENDOR "DataFold Net")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DataFold peer-to-peer node, its tools and the datafold::net library")
# One string: CPack turns its line breaks into the control file's continuation lines.
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "DataFold Net connects DataFold nodes: discovery on the LAN and through a DHT, "
  "authenticated TLS 1.3 connections, relays and hole punching through NATs, and "
  "queries answered per field by each node's trust in the requester.\n"
  "\n"
  "This package holds the datafold program (a node on an embedded SQLite store, "
  "its command-line tools and local HTTP API), a systemd unit running it as the "
  "user datafold with its data in /var/lib/datafold and its settings in "
  "/etc/datafold/datafold.toml (not started on install), and the static "
  "library datafold::net with its headers and CMake package.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The executable is stripped by the DEBUGINFO split below (which looks only at
# unstripped files, so CPACK_STRIP_FILES stays off); static libraries by this script.
set(CPACK_DATAFOLD_STRIP ${CMAKE_STRIP})
set(CPACK_PRE_BUILD_SCRIPTS ${_datafold_deb}/strip_static_libraries.cmake)

# Every component in the one package: the executable (Unspecified), the library and
# the service files.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified datafold_net_Development ${_datafold_service_component})

set(CPACK_DEBIAN_PACKAGE_NAME datafold)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # datafold_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "DataFold Net maintainers <datafold@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The program's shared libraries, as dpkg-shlibdeps computes them; adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# What building against the installed datafold::net needs (datafold_netConfig.cmake
# finds them): not needed to run the node, so only suggested.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "cmake, pkg-config, libssl-dev, libprotobuf-dev, nlohmann-json3-dev, libspdlog-dev, libopendht-dev, libminiupnpc-dev, libnatpmp-dev")
# The executable's debug info in datafold-dbgsym (a .ddeb beside the .deb).
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_datafold_deb}/conffiles ${_datafold_deb}/postinst ${_datafold_deb}/prerm ${_datafold_deb}/postrm)
# 0644 for conffiles, 0755 for the scripts, whatever the source tree's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
