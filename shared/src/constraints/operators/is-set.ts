import type { OperatorPlugin } from "./operator";

/** Nomad `is_set`: the node has the attribute (a key-only label counts). */
export const isSetOperator: OperatorPlugin = {
  name: "is_set",
  aliases: ["exists"],
  shape: "none",
  cost: 0,
  whenMissing: false,
  compile: () => () => true,
};

/** Nomad `is_not_set`: the node lacks the attribute. */
export const isNotSetOperator: OperatorPlugin = {
  name: "is_not_set",
  aliases: ["does_not_exist", "not_exists"],
  shape: "none",
  cost: 0,
  whenMissing: true,
  compile: () => () => false,
};
