/**
 * The handler contract (see the README's "Writing a handler"): what user code exports and receives.
 * These types are served by the API so a CLI can write them next to a handler file.
 */
export type Row = Record<string, unknown>;

export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One row, many rows, or nothing (null, undefined, []) to drop the message. */
export type HandlerResult = Row | Row[] | null | undefined;

export type Handler<T = unknown> = (data: T, log: Log) => HandlerResult | Promise<HandlerResult>;
