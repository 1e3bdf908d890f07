# ddk_add_backend(<target> SOURCES <src>...)
#   Builds a DDK backend plugin: a shared library, C11, linked against the
#   delegate_api headers only, exporting only the ddk_backend_entry symbol.
function(ddk_add_backend target)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
    C_VISIBILITY_PRESET hidden PREFIX "lib")
  if(TARGET ddk::delegate_api)
    target_link_libraries(${target} PRIVATE ddk::delegate_api)
  else()
    target_link_libraries(${target} PRIVATE ddk_delegate_api)
  endif()
endfunction()
