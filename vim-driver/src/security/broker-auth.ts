import { sameSecret } from "@openiotfog/shared";
import type { FleetIdentity } from "./fleet-identity";
import { DRIVER_MQTT_USER, verifyMosquittoPassword } from "./mqtt-authority";
import { mayPublish, maySubscribe, type MqttAccessRules } from "./mqtt-acl";

/**
 * The fleet's MQTT rules for a broker that asks per client (the embedded aedes broker of `iotfog up`): the same
 * users as the generated Mosquitto password file and the same ACL (mqtt-acl.ts).
 */
export class FleetBrokerAuth {
  readonly rules: MqttAccessRules;

  constructor(
    private readonly identity: () => FleetIdentity,
    prefix: string,
  ) {
    this.rules = { prefix, driverUser: DRIVER_MQTT_USER };
  }

  /** The driver with its fleet password, or an enrolled, not revoked node with its own. Anonymous: no. */
  authenticate(username: string | undefined, password: Buffer | undefined): boolean {
    if (username === undefined || password === undefined) return false;
    const given = password.toString("utf8");
    const identity = this.identity();
    if (username === DRIVER_MQTT_USER) {
      const driver = identity.driverMqttCredentials;
      return driver !== undefined && sameSecret(given, driver.password);
    }
    const hash = identity.node(username)?.mqttPasswordHash;
    return hash !== undefined && verifyMosquittoPassword(given, hash);
  }

  /**
   * What a session was admitted on: the node's password hash (the driver's user name for the driver); a session
   * whose stamp changed (node revoked, or re-enrolled with a new password) must end.
   */
  credentialStamp(username: string): string | undefined {
    if (username === DRIVER_MQTT_USER) return username;
    return this.identity().node(username)?.mqttPasswordHash;
  }

  mayPublish(username: string | undefined, topic: string): boolean {
    return mayPublish(this.rules, username, topic);
  }

  maySubscribe(username: string | undefined, filter: string): boolean {
    return maySubscribe(this.rules, username, filter);
  }
}
