# The dashboard's files, built into the datafold binary (the node serves every asset
# itself, so the page works with no internet). The graph and chart libraries come from
# the npm registry at the versions package-lock.json pins (`npm ci`, in the build tree,
# install scripts off); the page's own files are web/. dashboard/embed.mjs turns them all
# into one generated source file. Sets DATAFOLD_DASHBOARD_ASSETS_CPP.
#
# The dashboard is part of the product, so a build without Node.js and npm stops here
# with how to get them rather than quietly shipping a binary without it.
find_program(DATAFOLD_NODE NAMES node nodejs)
find_program(DATAFOLD_NPM npm)
if(NOT DATAFOLD_NODE OR NOT DATAFOLD_NPM)
  message(FATAL_ERROR
    "The datafold executable embeds its web dashboard, which needs Node.js and npm at build time "
    "(found node: '${DATAFOLD_NODE}', npm: '${DATAFOLD_NPM}'). Install them (Debian 12: "
    "`apt-get install nodejs npm`, which scripts/setup.sh does), or configure with "
    "-DDATAFOLD_BUILD_APPS=OFF to build the library alone.")
endif()

set(_dashboard_dir ${CMAKE_CURRENT_LIST_DIR})
set(_npm_dir ${CMAKE_CURRENT_BINARY_DIR}/dashboard_npm)
set(_npm_stamp ${_npm_dir}/npm-ci.stamp)
add_custom_command(
  OUTPUT ${_npm_stamp}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_npm_dir}
  COMMAND ${CMAKE_COMMAND} -E copy_if_different ${_dashboard_dir}/package.json ${_dashboard_dir}/package-lock.json ${_npm_dir}
  COMMAND ${DATAFOLD_NPM} ci --ignore-scripts --no-audit --no-fund --loglevel=error
  COMMAND ${CMAKE_COMMAND} -E touch ${_npm_stamp}
  WORKING_DIRECTORY ${_npm_dir}
  DEPENDS ${_dashboard_dir}/package.json ${_dashboard_dir}/package-lock.json
  COMMENT "Installing the dashboard's front-end libraries (npm ci)"
  VERBATIM)

file(GLOB _dashboard_web CONFIGURE_DEPENDS ${_dashboard_dir}/web/*)
# URL path under /dashboard/ = file: the page's own, then the libraries' minified builds
# and their licences.
set(_embedded)
foreach(file IN LISTS _dashboard_web)
  get_filename_component(name ${file} NAME)
  list(APPEND _embedded "${name}=${file}")
endforeach()
list(APPEND _embedded
  "cytoscape.min.js=${_npm_dir}/node_modules/cytoscape/dist/cytoscape.min.js"
  "cytoscape-LICENSE.txt=${_npm_dir}/node_modules/cytoscape/LICENSE"
  "uPlot.iife.min.js=${_npm_dir}/node_modules/uplot/dist/uPlot.iife.min.js"
  "uPlot.min.css=${_npm_dir}/node_modules/uplot/dist/uPlot.min.css"
  "uPlot-LICENSE.txt=${_npm_dir}/node_modules/uplot/LICENSE")

set(DATAFOLD_DASHBOARD_ASSETS_CPP ${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.cpp)
add_custom_command(
  OUTPUT ${DATAFOLD_DASHBOARD_ASSETS_CPP}
  COMMAND ${DATAFOLD_NODE} ${_dashboard_dir}/embed.mjs ${DATAFOLD_DASHBOARD_ASSETS_CPP} ${_embedded}
  DEPENDS ${_dashboard_dir}/embed.mjs ${_npm_stamp} ${_dashboard_web}
  COMMENT "Embedding the dashboard's files"
  VERBATIM)
