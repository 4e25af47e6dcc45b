#!/usr/bin/env python3
"""Example third-party hardware listener for OpenIoTFog (Python 3 + pyzmq: `pip install pyzmq`).

Publishes "device attached" / "device detached" events to the agent's hardware endpoint (its config's
`hardware.bind`, default tcp://127.0.0.1:5556). Any number of listeners may connect at once; each event is one
JSON object, optionally preceded by a topic frame. Format: docs/agent-events.md.

    python3 zigbee_listener.py attached --serial 00124b0012345678 --path /dev/ttyUSB0
    python3 zigbee_listener.py detached --serial 00124b0012345678
"""
import argparse
import json
import sys
import time

import zmq


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["attached", "detached"])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5556")
    parser.add_argument("--serial", required=True)
    parser.add_argument("--path", help="kernel path, e.g. /dev/ttyUSB0 (required when attached)")
    parser.add_argument("--vendor-id", default="10c4")
    parser.add_argument("--product-id", default="ea60")
    parser.add_argument("--source", default="zigbee-listener.py")
    args = parser.parse_args()

    device = {"class": "zigbee", "serial": args.serial, "protocol": "zigbee",
              "vendorId": args.vendor_id, "productId": args.product_id}
    if args.path:
        device["path"] = args.path
    event = {"v": 1, "type": "device." + args.kind, "source": args.source,
             "time": int(time.time() * 1000), "device": device}

    ctx = zmq.Context.instance()
    # XPUB rather than PUB: it tells us when the agent's subscription has arrived, so the event is not
    # dropped by ZeroMQ's slow-joiner effect. (With a plain PUB socket, sleep ~0.5 s after connect instead.)
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.LINGER, 2000)
    sock.connect(args.endpoint)
    if not sock.poll(10000, zmq.POLLIN):
        print("no agent subscribed at %s within 10 s" % args.endpoint, file=sys.stderr)
        return 1
    sock.recv()  # the subscription: b"\x01" + topic
    sock.send_multipart([b"hw", json.dumps(event).encode("utf-8")])
    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
