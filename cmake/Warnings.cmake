# Warning flags shared by every target of the project.
add_library(tacos_warnings INTERFACE)
target_compile_options(tacos_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual)
# -Wnull-dereference is left out: at -O2 it misfires inside Boost.Asio and libstdc++ templates.
# -Wrestrict misfires on std::string concatenation at -O2 with GCC 12 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(tacos_warnings INTERFACE -Wno-restrict)
endif()
if(TACOS_WERROR)
  target_compile_options(tacos_warnings INTERFACE -Werror)
endif()

add_library(tacos_sanitizers INTERFACE)
if(TACOS_FUZZ)
  # Coverage for libFuzzer in every library; the fuzz executables add -fsanitize=fuzzer (the
  # driver's main) at link time. -fno-sanitize=function: clang 14 cannot emit UBSan's
  # function-type check in coroutines ("Cannot represent a difference across sections",
  # llvm/llvm-project#49689).
  target_compile_options(tacos_sanitizers INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize=function -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(tacos_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(TACOS_SANITIZE STREQUAL "thread")
  # -Wno-tsan: Boost.Asio uses std::atomic_thread_fence, which GCC warns TSan does not model.
  # -Wno-mismatched-new-delete: at this preset's -O1 GCC 12 inlines Asio's coroutine frame
  # allocator into every coroutine and reports its matching deallocate as a mismatch (the
  # release presets see it only in server.cpp and upstream.cpp; net/CMakeLists.txt).
  target_compile_options(tacos_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan
    -Wno-mismatched-new-delete)
  target_link_options(tacos_sanitizers INTERFACE -fsanitize=thread)
elseif(TACOS_SANITIZE)
  target_compile_options(tacos_sanitizers INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(tacos_sanitizers INTERFACE -fno-sanitize=function)  # as above
  endif()
  target_link_options(tacos_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
