import { describe, expect, it } from "vitest";
import {
  checkEgress,
  DEFAULT_EGRESS_DENY,
  egressIssues,
  egressPolicyFromLists,
  egressTargets,
  parseEgressPolicy,
  parseEgressRule,
} from "./egress.ts";
import { isWeirError } from "./errors.ts";
import { type PipelineSpec, parsePipelineSpec } from "./spec.ts";

/** A spec with a Kafka source on `brokers` and a webhook (or ClickHouse) sink at `url`. */
function spec(
  brokers: string | string[],
  url: string,
  sink: "webhook" | "clickhouse" = "webhook",
): PipelineSpec {
  const r = parsePipelineSpec({
    name: "egress",
    source: { type: "kafka", config: { bootstrap_servers: brokers, topic: "t" } },
    sink: { type: sink, config: sink === "webhook" ? { url } : { url, table: "t" } },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.spec;
}

const allowed = (policy: ReturnType<typeof parseEgressPolicy>, s: PipelineSpec) =>
  egressIssues(policy, s).length === 0;

describe("parseEgressPolicy", () => {
  it("reads CIDRs (v4, v6, bare addresses), names and *.suffix names, case-insensitively", () => {
    const p = parseEgressPolicy(
      "10.0.0.0/8, FD00::/8, 192.0.2.7 ,2001:DB8::1,Kafka.Example.COM,*.Corp.Example",
      undefined,
    );
    expect(p.allow.map((r) => r.text)).toEqual([
      "10.0.0.0/8",
      "fd00::/8",
      "192.0.2.7",
      "2001:db8::1",
      "kafka.example.com",
      "*.corp.example",
    ]);
    expect(p.allow[2]).toMatchObject({ kind: "cidr", range: [expect.anything(), 32] });
    expect(p.allow[3]).toMatchObject({ kind: "cidr", range: [expect.anything(), 128] });
    expect(p.allow[5]).toMatchObject({ kind: "name", name: "corp.example", suffix: true });
    // The defaults always follow the operator's deny rules; blank entries are ignored.
    expect(parseEgressPolicy(undefined, " ,127.0.0.2/32,").deny.map((r) => r.text)).toEqual([
      "127.0.0.2/32",
      ...DEFAULT_EGRESS_DENY,
    ]);
    expect(parseEgressPolicy(undefined, undefined).deny.every((r) => r.builtin)).toBe(true);
  });

  it("refuses bad entries, naming the variable and the entry", () => {
    expect(() => parseEgressPolicy("10.0.0.0/33", undefined)).toThrow(
      /WEIR_EGRESS_ALLOW: bad entry "10.0.0.0\/33": not a CIDR range/,
    );
    expect(() => parseEgressPolicy(undefined, "10.0.0.0/8,http://x.example/")).toThrow(
      /WEIR_EGRESS_DENY: bad entry "http:\/\/x.example\/"/,
    );
    for (const bad of ["host:9092", "a b", "*", "*.", "-x.example", "1.2.3.4/abc", "::1/129"]) {
      expect(() => parseEgressRule(bad), bad).toThrow();
    }
    expect(() => egressPolicyFromLists({ deny: ["nope!"] })).toThrow(/egress deny list: bad entry "nope!"/);
  });
});

describe("egressIssues (static, no DNS)", () => {
  it("denies the defaults (link-local, cloud metadata, this-host) with an empty policy", () => {
    const p = parseEgressPolicy(undefined, undefined);
    expect(egressIssues(p, spec("169.254.169.254:9092", "http://127.0.0.1/"))).toEqual([
      {
        path: "/source/config/bootstrap_servers",
        message: "169.254.169.254 is denied by the egress policy (default rule 169.254.0.0/16)",
      },
    ]);
    for (const url of [
      "http://169.254.169.254/latest/meta-data/",
      "http://[fe80::1]/",
      "http://[fd00:ec2::254]/",
      "http://100.100.100.200/",
      "http://[::ffff:169.254.169.254]/", // IPv4-mapped IPv6
      "http://2852039166/", // 169.254.169.254 as one number
      "http://0.0.0.0:8123/",
      "http://[::]/",
      "http://Metadata.Google.Internal./computeMetadata/v1/",
    ]) {
      const issues = egressIssues(p, spec("127.0.0.1:9092", url));
      expect(
        issues.map((i) => i.path),
        url,
      ).toEqual(["/sink/config/url"]);
    }
    expect(allowed(p, spec("127.0.0.1:9092", "http://127.0.0.2:9/x"))).toBe(true);
    expect(allowed(p, spec("kafka.example.com:9092", "https://ch.example.com/", "clickhouse"))).toBe(true);
  });

  it("names the field of each broker: the string form as a whole, the array form by index", () => {
    const p = parseEgressPolicy(undefined, "127.0.0.2/32,10.1.0.0/16");
    const s = spec(["127.0.0.1:9092", "127.0.0.2:9092", "10.1.2.3:9092"], "http://127.0.0.1/");
    expect(egressIssues(p, s).map((i) => i.path)).toEqual([
      "/source/config/bootstrap_servers/1",
      "/source/config/bootstrap_servers/2",
    ]);
    // Kafka reads "0x7f.2" as the resolver does: 127.0.0.2.
    expect(egressTargets(spec("0x7f.2:9092", "http://127.0.0.1/"))[0]).toEqual({
      path: "/source/config/bootstrap_servers",
      host: "127.0.0.2",
    });
    expect(egressIssues(p, spec("0x7f.2:9092", "http://127.0.0.1/")).map((i) => i.path)).toEqual([
      "/source/config/bootstrap_servers",
    ]);
    // IPv6 literals in brackets or bare are checked as addresses.
    const v6 = parseEgressPolicy(undefined, undefined);
    expect(
      egressIssues(v6, spec(["[fe80::1]:9092", "fe80::2"], "http://127.0.0.1/")).map((i) => i.path),
    ).toEqual(["/source/config/bootstrap_servers/0", "/source/config/bootstrap_servers/1"]);
    // The clickhouse sink's URL is checked like the webhook's.
    expect(egressIssues(p, spec("127.0.0.1:9092", "http://127.0.0.2:8123/", "clickhouse"))).toEqual([
      {
        path: "/sink/config/url",
        message: "127.0.0.2 is denied by the egress policy (rule 127.0.0.2/32)",
      },
    ]);
  });

  it("matches CIDRs per family, IPv6 ranges and exact and suffix names", () => {
    const p = parseEgressPolicy(undefined, "2001:db8::/32,internal.example,*.corp.example");
    const sink = (url: string) => allowed(p, spec("127.0.0.1:9092", url));
    expect(sink("http://[2001:db8::5]/")).toBe(false);
    expect(sink("http://[2001:db9::5]/")).toBe(true);
    expect(sink("http://internal.example/")).toBe(false);
    expect(sink("http://INTERNAL.example./")).toBe(false);
    expect(sink("http://x.internal.example/")).toBe(true); // exact rule: subdomains not covered
    expect(sink("http://a.b.corp.example/")).toBe(false);
    expect(sink("http://corp.example/")).toBe(true); // suffix rule: the name itself not covered
    expect(sink("http://notcorp.example/")).toBe(true);
    // An IPv4-mapped IPv6 rule covers the IPv4 address.
    const mapped = parseEgressPolicy(undefined, "::ffff:10.0.0.0/104");
    expect(allowed(mapped, spec("127.0.0.1:9092", "http://10.9.9.9/"))).toBe(false);
  });

  it("with an allow list, lets only allowed destinations through, and deny wins over allow", () => {
    const p = parseEgressPolicy("127.0.0.0/8,*.example.com", "127.0.0.2/32,bad.example.com");
    const sink = (url: string) => allowed(p, spec("127.0.0.1:9092", url));
    expect(sink("http://127.0.0.1/")).toBe(true);
    expect(sink("http://127.0.0.2/")).toBe(false); // in both: deny wins
    expect(sink("http://10.0.0.1/")).toBe(false); // not allowed
    expect(sink("http://a.example.com/")).toBe(true);
    expect(sink("http://bad.example.com/")).toBe(false);
    // A name outside the allowed names may resolve into an allowed range: left to the connect check.
    expect(sink("http://other.example.org/")).toBe(true);
    // With only name rules, a name (or address) outside them is refused statically.
    const names = parseEgressPolicy("*.example.com", undefined);
    expect(egressIssues(names, spec("127.0.0.1:9092", "http://other.example.org/"))).toEqual([
      { path: "/source/config/bootstrap_servers", message: "127.0.0.1 is not in the egress allow list" },
      { path: "/sink/config/url", message: "host other.example.org is not in the egress allow list" },
    ]);
    // Even an allow-all range does not override the defaults.
    const all = parseEgressPolicy("0.0.0.0/0,::/0", undefined);
    expect(allowed(all, spec("127.0.0.1:9092", "http://169.254.169.254/"))).toBe(false);
  });

  it("has no destination for the embedded ClickHouse sink", () => {
    const r = parsePipelineSpec({
      name: "embedded",
      source: { type: "kafka", config: { bootstrap_servers: "127.0.0.1:9092", topic: "t" } },
      sink: { type: "embedded-clickhouse", config: { path: "/tmp/x", table: "t" } },
    });
    if (!r.ok) throw new Error("spec");
    expect(egressTargets(r.spec).map((t) => t.path)).toEqual(["/source/config/bootstrap_servers"]);
  });
});

describe("checkEgress (connect time, resolves names)", () => {
  async function denial(promise: Promise<void>) {
    try {
      await promise;
    } catch (err) {
      if (isWeirError(err)) return err;
      throw err;
    }
    return undefined;
  }

  it("refuses a name whose resolved address is denied, naming the field, host and address", async () => {
    // localhost resolves from /etc/hosts (127.0.0.1, and ::1 where listed): no DNS traffic.
    const p = parseEgressPolicy(undefined, "127.0.0.0/8,::1/128");
    const s = spec("192.0.2.1:9092", "http://localhost:9/x");
    // Statically the name is fine; at connect it is not.
    expect(egressIssues(p, s)).toEqual([]);
    const err = await denial(checkEgress(p, s));
    expect(err?.code).toBe("EGRESS_DENIED");
    expect(err?.retryable).toBe(true);
    expect(err?.message).toMatch(
      /^\/sink\/config\/url: host localhost resolves to (127\.0\.0\.1|::1), denied by the egress policy \(rule (127\.0\.0\.0\/8|::1\/128)\)$/,
    );
    expect(err?.details).toMatchObject({ path: "/sink/config/url", host: "localhost" });
    expect(String(err?.details?.address)).toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  it("lets a name through when its addresses are allowed, and applies the static check first", async () => {
    const open = parseEgressPolicy(undefined, undefined);
    await expect(checkEgress(open, spec("localhost:9092", "http://localhost:9/x"))).resolves.toBeUndefined();
    // Allowed by range: every address localhost resolves to is in the allow list.
    const byRange = parseEgressPolicy("127.0.0.0/8,::1", undefined);
    await expect(
      checkEgress(byRange, spec("127.0.0.1:9092", "http://localhost:9/x")),
    ).resolves.toBeUndefined();
    // Not in the allow list by name or by address.
    const other = parseEgressPolicy("10.0.0.0/8", undefined);
    const err = await denial(checkEgress(other, spec("10.0.0.1:9092", "http://localhost:9/x")));
    expect(err?.message).toMatch(
      /^\/sink\/config\/url: host localhost resolves to .*, which is not in the egress allow list$/,
    );
    // Literals fail before any resolution, with the broker's field.
    const lit = await denial(checkEgress(open, spec("169.254.169.254:9092", "http://localhost:9/x")));
    expect(lit?.details).toMatchObject({ path: "/source/config/bootstrap_servers", host: "169.254.169.254" });
    // Scope "source" ignores the sink.
    const sinkOnly = parseEgressPolicy(undefined, "127.0.0.2");
    await expect(
      checkEgress(sinkOnly, spec("127.0.0.1:9092", "http://127.0.0.2/"), "source"),
    ).resolves.toBeUndefined();
    expect(await denial(checkEgress(sinkOnly, spec("127.0.0.1:9092", "http://127.0.0.2/")))).toBeDefined();
  });
});
