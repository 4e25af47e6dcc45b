import type { Socket } from "zeromq";
import { IotFogError, errorMessage } from "@openiotfog/shared";

/**
 * Binds a socket or closes it and fails with UNAVAILABLE naming what could not listen; returns the address
 * actually bound (`tcp://127.0.0.1:*` resolves to a port).
 */
export async function bindOrClose(socket: Socket, address: string, what: string): Promise<string> {
  try {
    await socket.bind(address);
  } catch (e) {
    socket.close();
    throw new IotFogError("UNAVAILABLE", `cannot bind the ${what} to ${address}: ${errorMessage(e)}`);
  }
  return socket.lastEndpoint ?? address;
}
