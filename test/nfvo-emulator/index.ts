export * from "./emulator";
export * from "./plugin-caller";
export * from "./gson";
export * from "./management";
