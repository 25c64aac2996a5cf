# The FreeRTOS PAL's build, shared by the POSIX simulator (pal/freertos/sim)
# and the Cortex-M firmware (pal/cortex-m). The including project sets:
#
#   FREERTOS_KERNEL       the FreeRTOS-Kernel tree (from the sources crate)
#   FREERTOS_PORT         its port directory, e.g. portable/GCC/ARM_CM4F
#   FREERTOS_PORT_EXTRA   more port sources, if the port has any
#   FREERTOS_CONFIG_DIR   where that build's FreeRTOSConfig.h is
#   MBEDTLS_ROOT          an mbedTLS 2.28 tree (include/, library/)
#   WAMR_ROOT             a WAMR 2.x tree
#   WAMR_BUILD_TARGET     THUMBV7EM_VFP, ... (unset: the host's)
#
# and gets four static libraries: freertos_kernel, csmp_mbedtls, vmlib
# (WAMR) and csmp_pal_freertos (our PAL + the code it shares with the POSIX
# host: pal/common and the WAMR binding).
foreach(v FREERTOS_KERNEL FREERTOS_PORT FREERTOS_CONFIG_DIR MBEDTLS_ROOT WAMR_ROOT)
  if(NOT ${v})
    message(FATAL_ERROR "${v} is not set (scripts/build-freertos.mjs sets them all)")
  endif()
endforeach()

set(CSMP_PAL_DIR ${CMAKE_CURRENT_LIST_DIR}/..)
set(CSMP_FREERTOS_DIR ${CMAKE_CURRENT_LIST_DIR})
# Our own code only; the third-party trees build with their own habits.
set(CSMP_WARNINGS -Wall -Wextra -Werror)

# ---- FreeRTOS kernel ---------------------------------------------------------
# The kernel proper, the board's port, and no heap_N.c: the PAL creates every
# object statically (configSUPPORT_DYNAMIC_ALLOCATION 0), so nothing could
# call pvPortMalloc.
add_library(freertos_kernel STATIC
  ${FREERTOS_KERNEL}/tasks.c
  ${FREERTOS_KERNEL}/queue.c
  ${FREERTOS_KERNEL}/list.c
  ${FREERTOS_KERNEL}/timers.c
  ${FREERTOS_KERNEL}/${FREERTOS_PORT}/port.c
  ${FREERTOS_PORT_EXTRA}
)
target_include_directories(freertos_kernel PUBLIC
  ${FREERTOS_KERNEL}/include
  ${FREERTOS_KERNEL}/${FREERTOS_PORT}
  ${FREERTOS_CONFIG_DIR}
  ${CSMP_FREERTOS_DIR} # freertos_config_base.h
)

# ---- mbedTLS: SHA-256 and ECDSA P-256 verify only ------------------------------
add_library(csmp_mbedtls STATIC
  ${MBEDTLS_ROOT}/library/asn1parse.c
  ${MBEDTLS_ROOT}/library/asn1write.c
  ${MBEDTLS_ROOT}/library/bignum.c
  ${MBEDTLS_ROOT}/library/constant_time.c
  ${MBEDTLS_ROOT}/library/ecdsa.c
  ${MBEDTLS_ROOT}/library/ecp.c
  ${MBEDTLS_ROOT}/library/ecp_curves.c
  ${MBEDTLS_ROOT}/library/memory_buffer_alloc.c
  ${MBEDTLS_ROOT}/library/platform.c
  ${MBEDTLS_ROOT}/library/platform_util.c
  ${MBEDTLS_ROOT}/library/sha256.c
)
target_include_directories(csmp_mbedtls PUBLIC ${MBEDTLS_ROOT}/include ${CSMP_FREERTOS_DIR})
target_compile_definitions(csmp_mbedtls PUBLIC MBEDTLS_CONFIG_FILE="mbedtls_config.h")

# ---- WAMR ------------------------------------------------------------------------
# The options of the POSIX host (pal/wamr-options.cmake), so both hosts run
# the agent under the same interpreter. The platform layer is ours (wamr/),
# and WAMR allocates only from its pool.
set(WAMR_BUILD_PLATFORM "csmp-freertos")
set(SHARED_PLATFORM_CONFIG ${CSMP_FREERTOS_DIR}/wamr/shared_platform.cmake)
include(${CSMP_PAL_DIR}/wamr-options.cmake)
include(${WAMR_ROOT}/build-scripts/runtime_lib.cmake)
add_library(vmlib STATIC ${WAMR_RUNTIME_LIB_SOURCE})
# The platform layer sees FreeRTOS and our headers.
target_include_directories(vmlib PUBLIC
  ${CSMP_PAL_DIR}/include
  ${CSMP_PAL_DIR}/common
  ${CSMP_FREERTOS_DIR}
  ${CSMP_FREERTOS_DIR}/wamr
)
# libm: the interpreter's f32/f64 opcodes (sqrt, floor, ...).
target_link_libraries(vmlib PUBLIC freertos_kernel m)
# A native (pal.log, an ECDSA verify) runs below WAMR's stack guard: on a
# board the guard must cover our deepest native, not WAMR's 1 KiB default.
target_compile_definitions(vmlib PUBLIC WASM_STACK_GUARD_SIZE=4096)

# ---- our PAL ---------------------------------------------------------------------
add_library(csmp_pal_freertos STATIC
  ${CSMP_FREERTOS_DIR}/agent_task.c
  ${CSMP_FREERTOS_DIR}/inbox.c
  ${CSMP_FREERTOS_DIR}/timers.c
  ${CSMP_FREERTOS_DIR}/clock.c
  ${CSMP_FREERTOS_DIR}/net.c
  ${CSMP_FREERTOS_DIR}/store.c
  ${CSMP_FREERTOS_DIR}/slots.c
  ${CSMP_FREERTOS_DIR}/crypto.c
  ${CSMP_FREERTOS_DIR}/log.c
  ${CSMP_FREERTOS_DIR}/reset.c
  ${CSMP_FREERTOS_DIR}/ping.c
  ${CSMP_FREERTOS_DIR}/platform_tlv.c
  # Shared with the POSIX host: mbedTLS crypto, record keys, restarts.
  ${CSMP_PAL_DIR}/common/crypto_mbedtls.c
  ${CSMP_PAL_DIR}/common/record_key.c
  ${CSMP_PAL_DIR}/common/restart.c
  # The WAMR binding shared with the POSIX host, unchanged.
  ${CSMP_PAL_DIR}/wamr/natives.c
  ${CSMP_PAL_DIR}/wamr/agent.c
)
target_include_directories(csmp_pal_freertos PUBLIC
  ${CSMP_PAL_DIR}/include
  ${CSMP_PAL_DIR}/common
  ${CSMP_PAL_DIR}/wamr
  ${CSMP_FREERTOS_DIR}
)
target_compile_options(csmp_pal_freertos PRIVATE ${CSMP_WARNINGS})
target_link_libraries(csmp_pal_freertos PUBLIC vmlib csmp_mbedtls freertos_kernel)
