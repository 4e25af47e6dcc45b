export * from "./envelope";
export * from "./commands";
export * from "./client";
export * from "./client-cache";
