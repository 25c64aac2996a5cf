# WAMR's build options for every host of the agent: the POSIX host
# (pal/CMakeLists.txt) and the FreeRTOS PAL (pal/freertos/freertos.cmake)
# include this, so both run the agent under the same interpreter. The
# includer sets WAMR_BUILD_PLATFORM (and, for a platform layer of its own,
# SHARED_PLATFORM_CONFIG), then includes WAMR's runtime_lib.cmake.
#
# The agent is AssemblyScript compiled to plain wasm (bulk-memory is the only
# post-MVP feature it uses), so everything else stays off: smaller runtime,
# and the same feature set a Wi-SUN module can afford.
set(WAMR_BUILD_INTERP 1)
set(WAMR_BUILD_FAST_INTERP 1)
set(WAMR_BUILD_AOT 0)
set(WAMR_BUILD_JIT 0)
set(WAMR_BUILD_FAST_JIT 0)
# x86-64 defaults to SIMD, whose SIMDe dependency is downloaded at configure
# time (fails offline); asc emits no SIMD anyway.
set(WAMR_BUILD_SIMD 0)
set(WAMR_BUILD_LIB_SIMDE 0)
set(WAMR_BUILD_REF_TYPES 0)
set(WAMR_BUILD_BULK_MEMORY 1)
# The agent imports only "pal": no libc (which would also offer an
# `env.abort` that clashes with asc's), no WASI, no threads, no multi-module.
set(WAMR_BUILD_LIBC_BUILTIN 0)
set(WAMR_BUILD_LIBC_WASI 0)
set(WAMR_BUILD_LIB_PTHREAD 0)
set(WAMR_BUILD_LIB_WASI_THREADS 0)
set(WAMR_BUILD_THREAD_MGR 0)
set(WAMR_BUILD_MULTI_MODULE 0)
set(WAMR_BUILD_SHARED_MEMORY 0)
# Software bounds checks, as on a microcontroller: no 8 GiB reservation per
# instance and no SIGSEGV handler in our process.
set(WAMR_DISABLE_HW_BOUND_CHECK 1)
set(WAMR_DISABLE_STACK_HW_BOUND_CHECK 1)
# Only read for WAMR's own linux platform on x86-64 (the POSIX host): there,
# when the build machine's CPU and kernel allow it, every call into wasm
# would run `wrgsbase` (the linear memory base for AOT code's segue
# addressing, which the interpreter never reads), and the binary would die
# with SIGILL on a kernel before 5.9 or a CPU without FSGSBASE, and under
# valgrind (scripts/bench/wamr.ts).
set(WAMR_DISABLE_WRITE_GS_BASE 1)
