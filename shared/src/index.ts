export * from "./errors";
export * from "./logging";
export * from "./backoff";
export * from "./lifecycle";
export * from "./validation";
export * from "./config";
export * from "./version";
