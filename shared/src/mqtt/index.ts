export * from "./topics";
export * from "./payloads";
export * from "./tolerant";
export * from "./connection";
