import { describe, expect, it } from "vitest";
import { debianMirrors, parseAptSources } from "./base-image.js";

describe("apt sources", () => {
  it("parses deb822 files, with continuation lines, comments and disabled entries", () => {
    const text = [
      "Types: deb deb-src",
      "# http://snapshot.debian.org/archive/debian/20250520T000000Z",
      "URIs: http://mirror.example/debian",
      "Suites: bookworm bookworm-updates",
      "Components: main",
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      "",
      "Types: deb",
      "URIs: http://deb.debian.org/debian-security",
      "Suites:",
      " bookworm-security",
      "Components: main",
      "",
      "Types: deb",
      "Enabled: no",
      "URIs: http://disabled.example/debian",
      "Suites: bookworm",
      "",
      "Types: deb-src",
      "URIs: http://src-only.example/debian",
      "Suites: bookworm",
    ].join("\n");
    expect(parseAptSources(text, "deb822")).toEqual([
      { uri: "http://mirror.example/debian", suites: ["bookworm", "bookworm-updates"], components: ["main"] },
      { uri: "http://deb.debian.org/debian-security", suites: ["bookworm-security"], components: ["main"] },
    ]);
  });

  it("parses one-line files, with options and comments", () => {
    const text = [
      "# deb http://commented.example/debian bookworm main",
      "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib",
      "deb-src http://mirror.example/debian bookworm main",
      "deb http://security.debian.org/debian-security bookworm-security main # trailing",
    ].join("\n");
    expect(parseAptSources(text, "list")).toEqual([
      { uri: "http://mirror.example/debian/", suites: ["bookworm"], components: ["main", "contrib"] },
      { uri: "http://security.debian.org/debian-security", suites: ["bookworm-security"], components: ["main"] },
    ]);
  });

  const main = ["main"];

  it("finds the Debian archive, whether -updates is used, and the security archive", () => {
    expect(
      debianMirrors([
        { uri: "https://download.docker.com/linux/debian", suites: ["bookworm"], components: ["stable"] },
        { uri: "http://mirror.example/debian/", suites: ["bookworm", "bookworm-updates"], components: main },
      ]),
    ).toEqual({ archive: "http://mirror.example/debian", updates: true, security: undefined });
    expect(
      debianMirrors([
        { uri: "http://mirror.example/debian/", suites: ["trixie", "trixie-updates"], components: main },
        { uri: "http://mirror.example/debian-security", suites: ["trixie-security"], components: main },
      ]),
    ).toEqual({ archive: "http://mirror.example/debian", updates: true, security: "http://mirror.example/debian-security" });
    expect(debianMirrors([{ uri: "http://mirror.example/debian", suites: ["stable"], components: main }])).toEqual({
      archive: "http://mirror.example/debian",
      updates: false,
      security: undefined,
    });
  });

  it("passes over Ubuntu's archives and falls back to deb.debian.org", () => {
    const fallback = {
      archive: "http://deb.debian.org/debian",
      updates: true,
      security: "http://deb.debian.org/debian-security",
    };
    expect(
      debianMirrors([{ uri: "http://archive.ubuntu.com/ubuntu", suites: ["jammy", "jammy-updates"], components: main }]),
    ).toEqual(fallback);
    expect(debianMirrors([])).toEqual(fallback);
  });
});
