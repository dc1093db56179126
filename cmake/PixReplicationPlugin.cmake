# add_replication_plugin(<name> SOURCES <files...> [LIBS <targets...>])
#
# Builds step plugin <name> as lib<name>.so in PIXREP_PLUGIN_OUTPUT_DIR (default:
# <build>/plugins). Only the PIXREP_STEP aliases (create_step, step_abi_version) are exported:
# hidden visibility for the plugin's own code, a version script for everything linked into it
# (static libraries, inline code of other libraries' headers), and no STB_GNU_UNIQUE symbol,
# which would keep the library from ever being unloaded. The same helper serves the plugins in
# this tree and custom plugins built against the installed SDK (find_package(PixReplication)).
function(add_replication_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "add_replication_plugin(${name}): SOURCES is required")
  endif()
  if(NOT PIXREP_PLUGIN_OUTPUT_DIR)
    set(PIXREP_PLUGIN_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
  endif()
  set(exports ${CMAKE_BINARY_DIR}/pixrep-plugin-exports.map)
  if(NOT EXISTS ${exports})
    file(WRITE ${exports} "{ global: create_step; step_abi_version; local: *; };\n")
  endif()
  set(target plugin-${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE PixReplication::sdk ${ARG_LIBS})
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  target_link_options(${target} PRIVATE "LINKER:--version-script=${exports}" "LINKER:--exclude-libs,ALL"
                      "LINKER:--no-undefined")
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${exports}
    LIBRARY_OUTPUT_DIRECTORY ${PIXREP_PLUGIN_OUTPUT_DIR})
  if(PIXREP_INSTALL_PLUGINS)
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/pix-db-replication/plugins)
  endif()
endfunction()
