/*
 * The agent's "pal" imports as WAMR native symbols (natives.c).
 */
#ifndef CSMP_WAMR_NATIVES_H
#define CSMP_WAMR_NATIVES_H

#include <stdbool.h>

/* Exception texts the binding raises to stop the agent's execution after
 * csmp_pal_fatal / csmp_pal_reboot (WAMR reports them as "Exception: ..."). */
#define CSMP_WAMR_EXC_FATAL "csmp: agent fatal"
#define CSMP_WAMR_EXC_REBOOT "csmp: agent reboot"

/* Registers the symbol table under module name "pal". Call after
 * wasm_runtime_full_init and before loading the agent: WAMR links imports at
 * load time. */
bool csmp_wamr_register_natives(void);

/* The WAMR signature string this host provides for pal.<name>, or NULL when
 * it provides no such import (for diagnostics about unlinked imports). */
const char *csmp_wamr_native_signature(const char *name);

#endif
