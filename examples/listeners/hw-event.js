#!/usr/bin/env node
// Publishes one hardware event to an OpenIoTFog agent's hardware endpoint, like a vendor's listener would.
//
//   node hw-event.js tcp://127.0.0.1:5556 attached '{"class":"zigbee","vendorId":"10c4","productId":"ea60",
//        "serial":"00124b0012345678","path":"/dev/ttyUSB0","protocol":"zigbee"}'
//   node hw-event.js tcp://127.0.0.1:5556 detached '{"class":"zigbee","serial":"00124b0012345678"}'
//
// It connects an XPUB socket and waits for the agent's subscription before sending, so the event is not lost
// to ZeroMQ's "slow joiner" (a plain PUB socket drops whatever it sends before the subscription arrives).
// Prints the time the event was sent (epoch ms) on stdout. Format: docs/agent-events.md.
"use strict";
const { XPublisher } = require("zeromq");

async function main() {
  const [endpoint, kind, deviceJson, source = "example-listener"] = process.argv.slice(2);
  if (!endpoint || (kind !== "attached" && kind !== "detached") || !deviceJson) {
    process.stderr.write("usage: hw-event.js <endpoint> attached|detached '<device JSON>' [source]\n");
    process.exit(2);
  }
  const event = { v: 1, type: `device.${kind}`, source, time: Date.now(), device: JSON.parse(deviceJson) };
  const socket = new XPublisher({ linger: 2000 });
  socket.connect(endpoint);
  const timer = setTimeout(() => {
    process.stderr.write(`no agent subscribed at ${endpoint} within 10 s\n`);
    process.exit(1);
  }, 10000);
  // The first message on an XPUB socket is a subscriber's subscription: [0x01 + topic].
  await socket.receive();
  clearTimeout(timer);
  event.time = Date.now();
  await socket.send(["hw", JSON.stringify(event)]);
  process.stdout.write(`${event.time}\n`);
  socket.close();
}

main().catch((e) => {
  process.stderr.write(`${e && e.message ? e.message : String(e)}\n`);
  process.exit(1);
});
