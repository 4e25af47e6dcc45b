export * from "./config";
export * from "./driver";
export * from "./fleet";
export * from "./api";
export * from "./metrics/driver-metrics";
export * from "./metrics/config";
export * from "./metrics/server";
export * from "./metrics/targets";
