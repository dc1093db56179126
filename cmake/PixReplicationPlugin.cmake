# add_replication_plugin(<name> SOURCES <files...> [LIBS <targets...>])
#
# Builds step plugin <name> as lib<name>.so in PIXREP_PLUGIN_OUTPUT_DIR (default:
# <build>/plugins), with hidden visibility so only the PIXREP_STEP aliases are exported.
# The same helper serves the plugins in this tree and custom plugins built against the
# installed SDK (find_package(PixReplication)).
function(add_replication_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "add_replication_plugin(${name}): SOURCES is required")
  endif()
  if(NOT PIXREP_PLUGIN_OUTPUT_DIR)
    set(PIXREP_PLUGIN_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
  endif()
  set(target plugin-${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE PixReplication::sdk ${ARG_LIBS})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${PIXREP_PLUGIN_OUTPUT_DIR})
  if(PIXREP_INSTALL_PLUGINS)
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/pix-db-replication/plugins)
  endif()
endfunction()
