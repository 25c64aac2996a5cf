import "../runtime/fatal";
export * from "./test-exports";
