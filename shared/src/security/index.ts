export * from "./z85";
export * from "./keys";
export * from "./zap";
export * from "./trust";
export * from "./join-token";
export * from "./node-mac";
