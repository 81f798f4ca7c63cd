/**
 * Completions from the API's handler types (`/v1/types/handler.d.ts`): the declared type and global
 * names, and after `name.` the members of that global (`hash.`, `base64.`) or of the interface named
 * like it (`log.` → `Log`). A light reading of the .d.ts, not a TypeScript language service.
 */
import type { Completion, CompletionContext, CompletionResult } from "@codemirror/autocomplete";

export interface TypeIndex {
  names: Completion[];
  members: Map<string, Completion[]>;
}

function membersOf(body: string): Completion[] {
  const out = new Map<string, Completion>();
  // Only the body's own level: nested object types are skipped.
  let depth = 0;
  for (const line of body.split("\n")) {
    if (depth === 0) {
      const m = /^\s*(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*(\(|:)/.exec(line);
      if (m?.[1] && !out.has(m[1]))
        out.set(m[1], {
          label: m[1],
          type: m[2] === "(" ? "method" : "property",
          detail: line.trim().slice(0, 80),
        });
    }
    for (const c of line) {
      if (c === "{") depth++;
      else if (c === "}") depth--;
    }
  }
  return [...out.values()];
}

export function indexTypes(dts: string): TypeIndex {
  const names = new Map<string, Completion>();
  const members = new Map<string, Completion[]>();
  for (const m of dts.matchAll(/\b(interface|type|class|const|function|enum)\s+([A-Za-z_$][\w$]*)/g)) {
    const [, kind, name] = m as unknown as [string, string, string];
    if (!names.has(name))
      names.set(name, {
        label: name,
        type: kind === "interface" || kind === "type" ? "type" : kind === "const" ? "variable" : kind,
      });
  }
  // interface X { ... } and const x: { ... } (one level of braces is enough for these files).
  for (const m of dts.matchAll(/\binterface\s+([A-Za-z_$][\w$]*)[^{]*\{([\s\S]*?)\n\s*\}/g))
    members.set(m[1]!, membersOf(m[2]!));
  for (const m of dts.matchAll(/\bconst\s+([A-Za-z_$][\w$]*)\s*:\s*\{([\s\S]*?)\}\s*;/g))
    members.set(m[1]!, membersOf(m[2]!.replaceAll(";", ";\n")));
  return { names: [...names.values()], members };
}

export function typeCompletions(index: TypeIndex) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const member = ctx.matchBefore(/([A-Za-z_$][\w$]*)\.([\w$]*)$/);
    if (member) {
      const dot = member.text.indexOf(".");
      const obj = member.text.slice(0, dot);
      const list =
        index.members.get(obj) ?? index.members.get(obj.charAt(0).toUpperCase() + obj.slice(1)) ?? null;
      if (!list?.length) return null;
      return { from: member.from + dot + 1, options: list, validFor: /^[\w$]*$/ };
    }
    const word = ctx.matchBefore(/[A-Za-z_$][\w$]*$/);
    if (!word || (word.from === word.to && !ctx.explicit)) return null;
    return { from: word.from, options: index.names, validFor: /^[\w$]*$/ };
  };
}
