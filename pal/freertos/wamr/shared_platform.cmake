# WAMR platform glue for FreeRTOS: handed to WAMR's runtime_lib.cmake as
# SHARED_PLATFORM_CONFIG, in place of core/shared/platform/<name>/. It names
# our platform sources and makes WAMR allocate through its own pool.
set(PLATFORM_SHARED_DIR ${CMAKE_CURRENT_LIST_DIR})

add_definitions(-DBH_PLATFORM_CSMP_FREERTOS)
# Every WAMR allocation (os_mmap'd linear memory included) from the pool of
# wasm_runtime_full_init: one static array, no system heap.
add_definitions(-DBH_MALLOC=wasm_runtime_malloc -DBH_FREE=wasm_runtime_free)

include_directories(${PLATFORM_SHARED_DIR})
include_directories(${SHARED_DIR}/platform/include)

set(PLATFORM_SHARED_SOURCE ${PLATFORM_SHARED_DIR}/platform.c)
