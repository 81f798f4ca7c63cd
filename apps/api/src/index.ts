/** @weir/api as a library: buildApp for tests and embedding; main.ts is the deployable entry. */
export { type BuildAppOptions, buildApp } from "./app.ts";
export { type Env, parseEnv } from "./env.ts";
