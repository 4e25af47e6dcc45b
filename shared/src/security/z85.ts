import { IotFogError } from "../errors";

/** Z85 (ZeroMQ RFC 32): how CurveZMQ writes its 32-byte keys as 40 printable characters. */
const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));

export function z85Encode(bytes: Buffer): string {
  if (bytes.length % 4 !== 0) throw new IotFogError("BAD_REQUEST", "z85: byte count must be a multiple of 4");
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = bytes.readUInt32BE(i);
    let chunk = "";
    for (let j = 0; j < 5; j++) {
      chunk = ALPHABET.charAt(value % 85) + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new IotFogError("BAD_REQUEST", "z85: length must be a multiple of 5");
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = DECODE.get(text.charAt(i + j));
      if (digit === undefined) throw new IotFogError("BAD_REQUEST", "z85: not a Z85 character");
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new IotFogError("BAD_REQUEST", "z85: group out of range");
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}
