import vm from "node:vm";
import { errorMessage } from "../src";

describe("errorMessage", () => {
  it("reads the message of an Error made in another realm (as Jest's VM context sees Node's own errors)", () => {
    const foreign: unknown = vm.runInNewContext('new TypeError("fetch failed")');
    expect(foreign instanceof Error).toBe(false);
    expect(errorMessage(foreign)).toBe("fetch failed");
  });

  it("keeps strings and serialises other values", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage({ code: 7 })).toBe('{"code":7}');
  });
});
