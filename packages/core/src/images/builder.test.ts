import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { managedImageDir, managedImageDirs, managedImageName } from "./builder.js";

describe("managed image names", () => {
  it("maps a directory to llm-sandbox/<dir>:latest and back", () => {
    expect(managedImageName("python")).toBe("llm-sandbox/python:latest");
    expect(managedImageDir("llm-sandbox/python:latest")).toBe("python");
    expect(managedImageDir("llm-sandbox/python")).toBe("python");
    expect(managedImageDir("docker.io/llm-sandbox/node")).toBe("node");
  });

  it("does not take other names or tags for managed ones", () => {
    expect(managedImageDir("llm-sandbox/debian:bookworm")).toBeUndefined();
    expect(managedImageDir("python:3.12")).toBeUndefined();
    expect(managedImageDir("ghcr.io/llm-sandbox/python")).toBeUndefined();
    expect(managedImageDir("llm-sandbox-custom/0123456789ab:latest")).toBeUndefined();
  });

  it("rejects names that are not image directories", () => {
    expect(() => managedImageName("Python")).toThrow(ValidationError);
    expect(() => managedImageName("../x")).toThrow(ValidationError);
  });

  it("lists the shipped image directories, base first (the others are built FROM it)", () => {
    const dirs = managedImageDirs();
    expect(dirs[0]).toBe("base");
    expect(dirs).toEqual(expect.arrayContaining(["node", "python", "r", "java", "cpp", "go", "ruby", "bash"]));
    expect(dirs.slice(1)).toEqual([...dirs.slice(1)].sort());
  });
});
