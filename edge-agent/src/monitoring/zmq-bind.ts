import type { Socket } from "zeromq";
import { IotFogError, errorMessage, makeCurveServer, type CurveServer } from "@openiotfog/shared";
import type { NodeSecurity } from "../security/node-security";

/** A bound server socket: the address actually bound, and the CURVE handle to close it through (if any). */
export interface BoundServer {
  endpoint: string;
  curve: CurveServer | undefined;
}

/**
 * Binds one of the agent's server sockets (created with `context: curveContext`). With `security` on, the socket
 * first becomes a CurveZMQ server in a ZAP domain of its own (`domain`), admitting the fleet's and enrolled
 * peers' keys. On a bind failure the socket is closed (through its CURVE handle, which also ends the domain) and
 * UNAVAILABLE names `what` could not listen. `tcp://127.0.0.1:*` resolves to the port bound.
 */
export async function bindServer(
  socket: Socket,
  address: string,
  what: string,
  security: NodeSecurity | undefined,
  domain: string,
): Promise<BoundServer> {
  const curve =
    security?.enabled === true
      ? await makeCurveServer(socket, security.keys.secretKey, security.domain(domain), security.policy(what))
      : undefined;
  try {
    await socket.bind(address);
  } catch (e) {
    if (curve === undefined) socket.close();
    else await curve.close();
    throw new IotFogError("UNAVAILABLE", `cannot bind the ${what} to ${address}: ${errorMessage(e)}`);
  }
  return { endpoint: socket.lastEndpoint ?? address, curve };
}
