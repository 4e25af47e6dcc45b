/** Version of the OpenIoTFog components and of the payload schemas they exchange. */
export const IOTFOG_VERSION = "0.1.0";
