import type { ScorerPlugin } from "../plugin";
import { replicaAntiAffinityScorer } from "./anti-affinity";
import { preferencesScorer } from "./preferences";
import { resourcesScorer } from "./resources";
import { spreadScorer } from "./spread";

/** The scorer registry: a new scorer is one file plus one line here. */
export const scorerPlugins: readonly ScorerPlugin[] = [
  preferencesScorer,
  spreadScorer,
  replicaAntiAffinityScorer,
  resourcesScorer,
];
