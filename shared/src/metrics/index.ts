export * from "./endpoint";
export * from "./exposition";
