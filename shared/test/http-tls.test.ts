import { createLogger, createApiHttpServer, isLoopbackHost, plainHttpBindProblem } from "../src";

describe("REST API transport security", () => {
  it("knows the loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(h)).toBe(true);
    }
    for (const h of ["0.0.0.0", "::", "10.0.0.7", "192.168.1.2", "fleet.lan", "128.0.0.1", "*"]) {
      expect(isLoopbackHost(h)).toBe(false);
    }
  });

  it("allows plain HTTP on loopback, or elsewhere only with TLS or the explicit insecure option", () => {
    expect(plainHttpBindProblem({ host: "127.0.0.1" })).toBeUndefined();
    expect(plainHttpBindProblem({ host: "0.0.0.0", tls: { cert: "c.pem", key: "k.pem" } })).toBeUndefined();
    expect(plainHttpBindProblem({ host: "0.0.0.0", insecurePlainHttp: true })).toBeUndefined();
    expect(plainHttpBindProblem({ host: "10.0.0.7" })).toMatch(
      /^bound to 10\.0\.0\.7, which is not loopback/,
    );
  });

  it("refuses to create a plain server on a non-loopback address, naming the field", () => {
    const logger = createLogger({ component: "test", silent: true });
    expect(() =>
      createApiHttpServer(() => undefined, { host: "0.0.0.0", field: "rest", what: "REST API" }, logger),
    ).toThrow(/^rest\.tls: the REST API is bound to 0\.0\.0\.0, which is not loopback/);
  });

  it("names the key field when the key file is missing", () => {
    const logger = createLogger({ component: "test", silent: true });
    const tls = { cert: "/nonexistent/api.crt", key: "/nonexistent/api.key" };
    expect(() =>
      createApiHttpServer(
        () => undefined,
        { host: "127.0.0.1", tls, field: "api", what: "fleet API" },
        logger,
      ),
    ).toThrow(/^api\.tls\.key: cannot read \/nonexistent\/api\.key/);
  });
});
