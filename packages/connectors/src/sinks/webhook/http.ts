/**
 * The webhook sink's HTTP requests: undici's fetch with redirects never followed (a 3xx comes back
 * as the response and the sink reports it as a permanent error, see {@link redirectError}) and, under
 * an egress policy, a dispatcher whose every connection passes the guard. Following a redirect would
 * let a receiver send Weir anywhere, past the check of the configured URL.
 */

import { WeirError } from "@weir/core";
import { type Dispatcher, fetch, type RequestInit, type Response } from "undici";
import { egressRefusal } from "../../egress/guard.ts";
import { excerpt, sinkError } from "../classify.ts";

export type { Response as WebhookResponse } from "undici";

/** fetch without following redirects, through `dispatcher` when given (the guarded one). */
export function webhookFetch(
  url: string | URL,
  init: Omit<RequestInit, "redirect" | "dispatcher">,
  dispatcher: Dispatcher | undefined,
): Promise<Response> {
  return fetch(url, { ...init, redirect: "manual", ...(dispatcher ? { dispatcher } : {}) });
}

/** True for a 3xx answer, which the sink never follows. */
export function isRedirect(res: Response): boolean {
  return res.status >= 300 && res.status < 400;
}

/** The permanent error for a 3xx: redirects are not followed, the URL must name the final receiver. */
export function redirectError(
  what: string,
  target: string,
  res: Response,
  details: Record<string, unknown> = {},
): WeirError {
  const location = res.headers.get("location");
  return sinkError(
    `webhook ${what} to ${target} answered HTTP ${res.status}${location ? ` redirecting to ${excerpt(location, 200)}` : ""}: redirects are not followed; set the sink's url to the final address`,
    // Any 3xx is permanent: sending the same request again gets the same redirect.
    { status: res.status },
    { details: { ...details, ...(location ? { location } : {}) } },
  );
}

/** A connection the egress policy refused, as the sink reports it (`EGRESS_DENIED`, retryable). */
export function egressError(
  what: string,
  target: string,
  err: unknown,
  details: Record<string, unknown> = {},
): WeirError | undefined {
  const refused = egressRefusal(err);
  if (!refused) return undefined;
  return new WeirError("EGRESS_DENIED", `webhook ${what} to ${target}: ${refused.message}`, {
    retryable: true,
    details: { ...details, ...refused.details },
    cause: err,
  });
}
