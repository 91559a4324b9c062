# Compiler flags as INTERFACE libraries that targets link, so every target opts in
# the same way and no flag is set globally behind a target's back.

add_library(renderq_warnings INTERFACE)
target_compile_options(renderq_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wnull-dereference>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${RENDERQ_WERROR}>>:-Werror>)

add_library(renderq_sanitizers INTERFACE)
if(RENDERQ_SANITIZE)
  # ASan + UBSan; UBSan findings abort so ctest sees them as failures.
  target_compile_options(renderq_sanitizers INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer>)
  target_link_options(renderq_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# What every first-party target links.
add_library(renderq_flags INTERFACE)
target_link_libraries(renderq_flags INTERFACE renderq_warnings renderq_sanitizers)
target_include_directories(renderq_flags INTERFACE ${PROJECT_SOURCE_DIR})
if(RENDERQ_STATIC_LINK)
  # libstdc++ and libgcc inside the binaries (the GPU kit; cmake/Dependencies.cmake
  # takes the archives of the other libraries).
  target_link_options(renderq_flags INTERFACE -static-libstdc++ -static-libgcc)
endif()
