/**
 * The API's egress policy (WEIR_EGRESS_ALLOW / WEIR_EGRESS_DENY, plus @weir/core's default deny
 * rules): parsed once per config, checked statically when a pipeline is created or updated, sent to
 * workers with the desired state (they check again after DNS resolution, before connecting), and
 * checked with resolution before the API itself connects to a pipeline's Kafka cluster (DLQ routes).
 */
import {
  type EgressLists,
  type EgressPolicy,
  egressIssues,
  type PipelineSpec,
  parseEgressPolicy,
  splitEgressList,
  WeirError,
} from "@weir/core";
import type { Env } from "./env.ts";

type EgressEnv = Pick<Env, "WEIR_EGRESS_ALLOW" | "WEIR_EGRESS_DENY">;

const policies = new WeakMap<EgressEnv, EgressPolicy>();

/** The parsed policy; throws (naming the variable and the entry) when a list is malformed. */
export function egressPolicyOf(env: EgressEnv): EgressPolicy {
  let policy = policies.get(env);
  if (!policy) {
    policy = parseEgressPolicy(env.WEIR_EGRESS_ALLOW, env.WEIR_EGRESS_DENY);
    policies.set(env, policy);
  }
  return policy;
}

/** The operator's lists as workers receive them (each side adds the defaults itself). */
export function egressListsOf(env: EgressEnv): EgressLists {
  return { allow: splitEgressList(env.WEIR_EGRESS_ALLOW), deny: splitEgressList(env.WEIR_EGRESS_DENY) };
}

/** Throws VALIDATION naming each destination field the policy refuses (no DNS: literals and names). */
export function assertEgressAllowed(env: EgressEnv, spec: PipelineSpec): void {
  const issues = egressIssues(egressPolicyOf(env), spec);
  const first = issues[0];
  if (first) {
    throw new WeirError("VALIDATION", `${first.path}: ${first.message}`, { details: { issues } });
  }
}
