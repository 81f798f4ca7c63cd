/**
 * What went wrong when a Kafka source could not connect, in words a pipeline's owner can act on.
 * kafkajs reports refused SASL credentials and failed TLS handshakes as generic connection errors,
 * often wrapped in "retries exceeded"; without this, a wrong password reads as "Connection error"
 * or an INTERNAL error and looks like a broker outage. The same goes for a broker connection the
 * egress policy refused (kafkajs keeps only the refusal's message and code).
 */
import { isWeirError, type KafkaSourceConfig, WeirError } from "@weir/core";

/**
 * Node's TLS verification codes (`err.code` of the socket error) and what they mean to a user.
 * Everything here is fixed by configuration, not by waiting.
 */
const TLS_REASONS: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in chain",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the broker certificate (unknown issuer)",
  UNABLE_TO_GET_ISSUER_CERT: "unable to get the issuer certificate",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get the issuer certificate (unknown CA)",
  CERT_UNTRUSTED: "certificate not trusted",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not yet valid",
  CERT_SIGNATURE_FAILURE: "certificate signature failure",
  CERT_REVOKED: "certificate revoked",
  ERR_TLS_CERT_ALTNAME_INVALID: "the certificate's names do not match the broker address",
  ERR_SSL_WRONG_VERSION_NUMBER: "the broker did not answer TLS (wrong version number)",
};

/** Hints per TLS code: an unknown issuer is fixed by giving the CA, the rest by fixing the broker or address. */
const UNTRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
]);

interface KafkaJsLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  broker?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and everything it wraps (`cause`, kafkajs's `originalError`), outermost first. */
function chain(err: unknown): KafkaJsLike[] {
  const out: KafkaJsLike[] = [];
  let cur: unknown = err;
  while (typeof cur === "object" && cur !== null && out.length < 10 && !out.includes(cur as KafkaJsLike)) {
    const e = cur as KafkaJsLike;
    out.push(e);
    cur = e.cause ?? e.originalError;
  }
  return out;
}

/**
 * Turn a kafkajs connect error into a WeirError when it is a broker connection the egress policy
 * refused (`EGRESS_DENIED`, retryable), a refused login (`KAFKA_AUTH`) or a failed TLS handshake
 * (`KAFKA_TLS`); anything else (broker unreachable, timeouts, ...) is returned as it
 * came, so callers keep their existing handling. KAFKA_AUTH and KAFKA_TLS are not retryable: the
 * credentials or the CA must change first (a worker still retries its start with backoff, as for any start failure).
 * The password never appears in the message.
 */
export function classifyKafkaError(err: unknown, source?: Pick<KafkaSourceConfig, "sasl" | "tls">): unknown {
  const errors = chain(err);
  const egress = errors.find((e) => e.code === "EGRESS_DENIED");
  if (egress) {
    if (isWeirError(egress)) return egress;
    const message = String(egress.message ?? "").replace(/^Connection error: /, "");
    return new WeirError("EGRESS_DENIED", `Kafka ${message}`, {
      // As the check before connecting: DNS and the operator's policy may change.
      retryable: true,
      cause: err,
      details: typeof egress.broker === "string" ? { broker: egress.broker } : {},
    });
  }
  const auth = errors.find((e) => e.name === "KafkaJSSASLAuthenticationError");
  if (auth) {
    const sasl = source?.sasl;
    const who = sasl ? ` for user ${sasl.username} (mechanism ${sasl.mechanism})` : "";
    // kafkajs prefixes the broker's reason with "SASL <MECHANISM> authentication failed: "; keep the reason.
    const reason = String(auth.message ?? "").replace(/^SASL \S+( \S+)? authentication failed: /, "");
    return new WeirError("KAFKA_AUTH", `SASL authentication failed${who}: ${reason}`, {
      cause: err,
      details: sasl ? { username: sasl.username, mechanism: sasl.mechanism } : {},
    });
  }
  const tls = errors.find((e) => typeof e.code === "string" && e.code in TLS_REASONS);
  if (tls) {
    const code = tls.code as string;
    const at = typeof tls.broker === "string" ? ` with ${tls.broker}` : "";
    const hint = UNTRUSTED.has(code)
      ? "; set source.tls.ca to the CA that signed the broker certificate"
      : code === "ERR_SSL_WRONG_VERSION_NUMBER"
        ? "; is this a TLS listener?"
        : "";
    return new WeirError("KAFKA_TLS", `TLS handshake${at} failed: ${TLS_REASONS[code]}${hint}`, {
      cause: err,
      details: { tls_code: code, ...(typeof tls.broker === "string" ? { broker: tls.broker } : {}) },
    });
  }
  return err;
}
