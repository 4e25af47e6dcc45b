export * from "./types";
export * from "./events";
export * from "./fleet-view";
export * from "./agents";
export * from "./orchestrator";
export * from "./labels";
export * from "./declared";
export * from "./workload";
