#!/usr/bin/env node
// Committed shim: npm links package bins at install time, before `dist/` is built.
import "../dist/cli.js";
