#!/usr/bin/env node
// Launcher: registers tsx (a dependency of @weir/cli, resolved from here rather than from the
// caller's folder, which `node --import tsx` would do) and runs the TypeScript entry.
import { register } from "tsx/esm/api";

register();
await import("../src/bin.ts");
