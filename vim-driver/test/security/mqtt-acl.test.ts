import {
  DRIVER_MQTT_USER,
  mayPublish,
  maySubscribe,
  mosquittoAcl,
  mosquittoConf,
  mosquittoPasswordHash,
  verifyMosquittoPassword,
} from "../../src";

const rules = { prefix: "plant/iotfog", driverUser: DRIVER_MQTT_USER };

describe("the fleet's MQTT access rules", () => {
  it.each([
    [DRIVER_MQTT_USER, "plant/iotfog/v1/nodes/pi-1/presence", true],
    [DRIVER_MQTT_USER, "plant/iotfog/v1/fleet/announcements", true],
    [DRIVER_MQTT_USER, "elsewhere/x", false],
    ["pi-1", "plant/iotfog/v1/nodes/pi-1/presence", true],
    ["pi-1", "plant/iotfog/v1/nodes/pi-1/events", true],
    ["pi-1", "plant/iotfog/v1/nodes/pi-2/presence", false],
    ["pi-1", "plant/iotfog/v1/nodes/pi-10/presence", false],
    ["pi-1", "plant/iotfog/v1/fleet/announcements", false],
    ["pi-1", "plant/iotfog/v1/nodes/pi-1", false],
    ["pi-1", "plant/iotfog/v1/nodes/+/presence", false],
    [undefined, "plant/iotfog/v1/nodes/pi-1/presence", false],
  ])("%s publishing on %s: %s", (user, topic, allowed) => {
    expect(mayPublish(rules, user, topic)).toBe(allowed);
  });

  it.each([
    [DRIVER_MQTT_USER, "plant/iotfog/v1/nodes/+/#", true],
    [DRIVER_MQTT_USER, "#", false],
    ["pi-1", "plant/iotfog/v1/nodes/+/presence", true],
    ["pi-1", "plant/iotfog/v1/nodes/+/heartbeat", true],
    ["pi-1", "plant/iotfog/v1/nodes/pi-2/capabilities", true],
    ["pi-1", "plant/iotfog/v1/nodes/pi-1/#", true],
    ["pi-1", "plant/iotfog/v1/nodes/+/events", false],
    ["pi-1", "plant/iotfog/v1/nodes/pi-2/#", false],
    ["pi-1", "plant/iotfog/v1/nodes/#", false],
    ["pi-1", "plant/iotfog/#", false],
    ["pi-1", "#", false],
    [undefined, "plant/iotfog/v1/nodes/+/presence", false],
  ])("%s subscribing to %s: %s", (user, filter, allowed) => {
    expect(maySubscribe(rules, user, filter)).toBe(allowed);
  });

  it("writes the same rules as a Mosquitto ACL", () => {
    const acl = mosquittoAcl(rules);
    expect(acl).toContain(`user ${DRIVER_MQTT_USER}\ntopic readwrite plant/iotfog/#`);
    expect(acl).toContain("pattern readwrite plant/iotfog/v1/nodes/%u/#");
    expect(acl).toContain("pattern read plant/iotfog/v1/nodes/+/presence");
    expect(acl).not.toMatch(/pattern read\S* plant\/iotfog\/v1\/nodes\/\+\/events/);
  });

  it("mosquitto.conf: a TLS listener, no anonymous clients, the password file and the ACL", () => {
    const conf = mosquittoConf({ dir: "/etc/iotfog-mqtt", port: 8883, bind: "10.0.0.5" });
    for (const line of [
      "allow_anonymous false",
      "password_file /etc/iotfog-mqtt/passwd",
      "acl_file /etc/iotfog-mqtt/acl",
      "listener 8883 10.0.0.5",
      "certfile /etc/iotfog-mqtt/server.crt",
      "keyfile /etc/iotfog-mqtt/server.key",
    ])
      expect(conf.split("\n")).toContain(line);
  });
});

describe("Mosquitto password hashes", () => {
  it("checks a hash mosquitto_passwd wrote (PBKDF2-SHA512, $7$)", () => {
    // `mosquitto_passwd -b file alice secret` (Mosquitto 2.0.11).
    const hash =
      "$7$101$jhvi6J3h2Npp8Cx7$1++Y1uqZvSkWeXzT1bDe9IE9x6pPWtHAGu9bXkzccLlkR5ynsxoN3Jk6/ygSITCgd+rbhbGfQt01woTs18jFnw==";
    expect(verifyMosquittoPassword("secret", hash)).toBe(true);
    expect(verifyMosquittoPassword("Secret", hash)).toBe(false);
  });

  it("writes hashes it (and so Mosquitto) can check, salted", () => {
    const a = mosquittoPasswordHash("a-long-random-password");
    expect(a).toMatch(/^\$7\$101\$/);
    expect(verifyMosquittoPassword("a-long-random-password", a)).toBe(true);
    expect(verifyMosquittoPassword("another-password", a)).toBe(false);
    expect(mosquittoPasswordHash("a-long-random-password")).not.toBe(a);
    expect(verifyMosquittoPassword("x", "$6$not-ours")).toBe(false);
  });
});
