export * from "./config";
export * from "./agent";
