import { randomBytes } from "node:crypto";

/** Short random ids: unique enough for runs and sessions, safe in file names, labels and environment values. */
export const newId = (bytes = 8): string => randomBytes(bytes).toString("hex");
