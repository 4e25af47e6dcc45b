export * from "./app";
export * from "./config";
export * from "./errors";
export * from "./schemas";
export * from "./server";
export * from "./service";
export * from "./surfaces";
