import { IotFogError, type Logger } from "@openiotfog/shared";
import type { AgentConfig } from "../config";
import type { ContainerRuntime } from "./runtime";
import { DockerRuntime } from "./docker";

export type RuntimeFactory = (config: AgentConfig, logger: Logger) => ContainerRuntime;

/** Runtimes by name; `runtime.name` in the config picks one. */
export class RuntimeRegistry {
  private readonly factories = new Map<string, RuntimeFactory>();

  register(name: string, factory: RuntimeFactory): this {
    if (this.factories.has(name))
      throw new IotFogError("CONFLICT", `runtime "${name}" is already registered`);
    this.factories.set(name, factory);
    return this;
  }

  names(): string[] {
    return [...this.factories.keys()];
  }

  create(name: string, config: AgentConfig, logger: Logger): ContainerRuntime {
    const factory = this.factories.get(name);
    if (factory === undefined) {
      throw new IotFogError(
        "CONFIG_INVALID",
        `runtime.name: unknown runtime "${name}" (available: ${this.names().join(", ")})`,
      );
    }
    return factory(config, logger);
  }
}

/** The runtimes built into the agent. */
export function defaultRuntimes(): RuntimeRegistry {
  return new RuntimeRegistry().register(
    "docker",
    (config, logger) =>
      new DockerRuntime({ socketPath: config.runtime.docker.socketPath, nodeId: config.nodeId, logger }),
  );
}
