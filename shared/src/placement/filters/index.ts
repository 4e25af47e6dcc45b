import type { FilterPlugin } from "../plugin";
import { constraintsFilter } from "./constraints";
import { devicesFilter } from "./devices";
import { distinctPropertyFilter } from "./distinct-property";
import { hostPolicyFilter } from "./host-policy";
import { imagePlatformFilter } from "./image-platform";
import { availabilityFilter } from "./online";
import { replicasPerNodeFilter } from "./replicas";
import { resourcesFilter } from "./resources";

/** The filter registry: a new filter is one file plus one line here. The pipeline sorts by `order`. */
export const filterPlugins: readonly FilterPlugin[] = [
  availabilityFilter,
  constraintsFilter,
  replicasPerNodeFilter,
  distinctPropertyFilter,
  resourcesFilter,
  devicesFilter,
  hostPolicyFilter,
  imagePlatformFilter,
];
