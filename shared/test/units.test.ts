import {
  formatBytes,
  formatFrequency,
  IotFogError,
  parseBytes,
  parseFrequencyHz,
  parseQuantity,
} from "@openiotfog/shared";

describe("parseQuantity", () => {
  it.each([
    ["512MB", 512e6, "bytes"],
    ["512mb", 512e6, "bytes"],
    ["1GiB", 1024 ** 3, "bytes"],
    ["1.5GiB", 1.5 * 1024 ** 3, "bytes"],
    ["2Gi", 2 * 1024 ** 3, "bytes"],
    ["64KiB", 65536, "bytes"],
    ["1kB", 1000, "bytes"],
    ["3TB", 3e12, "bytes"],
    ["100B", 100, "bytes"],
    ["1.2GHz", 1.2e9, "frequency"],
    ["800MHz", 8e8, "frequency"],
    ["32kHz", 32e3, "frequency"],
    ["50Hz", 50, "frequency"],
    ["42", 42, "none"],
    [" 7 ", 7, "none"],
    ["-3", -3, "none"],
    ["1e3", 1000, "none"],
    [".5", 0.5, "none"],
  ])("%s is %d (%s)", (text, value, dimension) => {
    const q = parseQuantity(text);
    expect(q?.dimension).toBe(dimension);
    expect(q?.value).toBeCloseTo(value, 3);
  });

  it.each(["", "MB", "12 parsecs", "1.2.3", "0x10", "1GB2", "NaN", "Infinity"])(
    "%j is not a quantity",
    (text) => {
      expect(parseQuantity(text)).toBeUndefined();
    },
  );

  it("accepts finite numbers and refuses the rest", () => {
    expect(parseQuantity(3)).toEqual({ value: 3, dimension: "none" });
    expect(parseQuantity(Number.NaN)).toBeUndefined();
  });
});

describe("parseBytes and parseFrequencyHz", () => {
  it("reads sizes and bare byte counts", () => {
    expect(parseBytes("256MiB")).toBe(256 * 1024 ** 2);
    expect(parseBytes(1000)).toBe(1000);
    expect(parseBytes("1.5KB")).toBe(1500);
  });

  it.each([
    ["1.2GHz", "memory", 'memory: "1.2GHz" is not a size such as 512MiB or 1GB'],
    ["lots", "memory", 'memory: "lots" is not a size such as 512MiB or 1GB'],
    ["-1GB", "disk", 'disk: "-1GB" is not a size such as 512MiB or 1GB'],
    [true, "memory", "memory: true is not a size such as 512MiB or 1GB"],
  ])("parseBytes(%j) names the field: %s", (input, field, message) => {
    expect(() => parseBytes(input, field)).toThrow(message);
    try {
      parseBytes(input, field);
    } catch (e) {
      expect(e).toBeInstanceOf(IotFogError);
      expect((e as IotFogError).code).toBe("VALIDATION_FAILED");
    }
  });

  it("reads frequencies, a bare number being MHz", () => {
    expect(parseFrequencyHz("1.2GHz")).toBe(1.2e9);
    expect(parseFrequencyHz(1500)).toBe(1.5e9);
    expect(() => parseFrequencyHz("2GB", "cpu")).toThrow('cpu: "2GB" is not a frequency such as 1.2GHz');
  });
});

describe("formatting for explanations", () => {
  it.each([
    [0, "0B"],
    [512, "512B"],
    [1536, "1.5KiB"],
    [Math.round(1.8 * 1024 ** 3), "1.8GiB"],
    [2 * 1024 ** 4, "2TiB"],
  ])("formatBytes(%d) = %s", (n, text) => expect(formatBytes(n)).toBe(text));

  it.each([
    [1.2e9, "1.2GHz"],
    [7e8, "700MHz"],
    [32e3, "32kHz"],
    [50, "50Hz"],
  ])("formatFrequency(%d) = %s", (n, text) => expect(formatFrequency(n)).toBe(text));
});
