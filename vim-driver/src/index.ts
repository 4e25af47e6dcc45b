export * from "./config";
export * from "./driver";
