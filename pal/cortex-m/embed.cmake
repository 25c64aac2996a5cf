# cmake -DINPUT=agent.wasm -DOUTPUT=agent_wasm.c -P embed.cmake
# Writes the module as a const array, so it is linked into flash and WAMR
# reads it in place (pal/wamr/agent.c loads it with wasm_binary_freeable, so
# WAMR never writes to it).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}" "/* Generated from ${INPUT} by pal/cortex-m/embed.cmake. */\n"
  "#include <stdint.h>\n"
  "extern const uint8_t csmp_agent_wasm[];\n"
  "extern const uint32_t csmp_agent_wasm_size;\n"
  "__attribute__((aligned(4))) const uint8_t csmp_agent_wasm[] = {\n${bytes}\n};\n"
  "const uint32_t csmp_agent_wasm_size = ${size};\n")
