# Warning flags shared by every target of the project.
add_library(tacos_warnings INTERFACE)
target_compile_options(tacos_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference)
if(TACOS_WERROR)
  target_compile_options(tacos_warnings INTERFACE -Werror)
endif()

add_library(tacos_sanitizers INTERFACE)
if(TACOS_SANITIZE)
  target_compile_options(tacos_sanitizers INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(tacos_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
