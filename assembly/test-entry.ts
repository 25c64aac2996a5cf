// Entry of the test build (build/agent-test.wasm): the agent plus codec-level
// exports the tests drive directly. Never shipped.
export * from "./index";
export * from "./coap/test-exports";
export * from "./proto/test-exports";
export * from "./tlv/test-exports";
