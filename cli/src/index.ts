export * from "./main";
export * from "./broker";
export * from "./run";
