/**
 * Enum-like constants: usable as values (`SandboxBackend.DOCKER`) and as string-literal types. `SupportedLanguage`
 * is derived from the built-in languages, in `languages/registry.ts`.
 */

export const SandboxBackend = {
  DOCKER: "docker",
  PODMAN: "podman",
  KUBERNETES: "kubernetes",
  MICROMAMBA: "micromamba",
} as const;
export type SandboxBackend = (typeof SandboxBackend)[keyof typeof SandboxBackend];

export const FileType = {
  PNG: "png",
  JPEG: "jpeg",
  PDF: "pdf",
  SVG: "svg",
  CSV: "csv",
  JSON: "json",
  TXT: "txt",
  HTML: "html",
} as const;
export type FileType = (typeof FileType)[keyof typeof FileType];

export const MIME_TYPES: Readonly<Record<FileType, string>> = {
  png: "image/png",
  jpeg: "image/jpeg",
  pdf: "application/pdf",
  svg: "image/svg+xml",
  csv: "text/csv",
  json: "application/json",
  txt: "text/plain",
  html: "text/html",
};

/** How bytes that are not valid UTF-8 are handled when program output is decoded. */
export const EncodingErrors = {
  STRICT: "strict",
  REPLACE: "replace",
  IGNORE: "ignore",
  BACKSLASHREPLACE: "backslashreplace",
} as const;
export type EncodingErrors = (typeof EncodingErrors)[keyof typeof EncodingErrors];
