export * from "./config";
export * from "./driver";
export * from "./fleet";
export * from "./api";
