/** A server-sent-events reader over a fetch body (the log tail), parsed by eventsource-parser. */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Yield each event of an SSE body as it arrives; `event` defaults to "message". */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let ready: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => ready.push(message) });
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    const batch = ready;
    ready = [];
    for (const m of batch) yield { event: m.event ?? "message", data: m.data, ...(m.id ? { id: m.id } : {}) };
  }
}
