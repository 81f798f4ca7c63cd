export * from "./dlq.js";
export * from "./errors.js";
export * from "./handler.js";
export * from "./log.js";
export * from "./otlp.js";
export * from "./secret.js";
export * from "./spec.js";
export * from "./worker.js";
