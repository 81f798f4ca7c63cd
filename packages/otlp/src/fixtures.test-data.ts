/** Hand-written OTLP JSON covering every AnyValue case and the zero-value rules, with what pdata prints. */

const TRACE = "0102030405060708090a0b0c0d0e0f10";
const SPAN = "a1a2a3a4a5a6a7a8";

/** Every AnyValue case as log attributes, encoded from this... */
export const allValuesLogs = {
  resourceLogs: [
    {
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: "18446744073709551615",
              severityNumber: 17,
              body: { kvlistValue: { values: [{ key: "nested", value: { arrayValue: { values: [] } } }] } },
              attributes: [
                { key: "s", value: { stringValue: "héllo ☃" } },
                { key: "empty-string", value: { stringValue: "" } },
                { key: "t", value: { boolValue: true } },
                { key: "f", value: { boolValue: false } },
                { key: "i", value: { intValue: "-9223372036854775808" } },
                { key: "i-max", value: { intValue: "9223372036854775807" } },
                { key: "i0", value: { intValue: "0" } },
                { key: "d", value: { doubleValue: 637.704 } },
                { key: "d0", value: { doubleValue: 0 } },
                { key: "nan", value: { doubleValue: Number.NaN } },
                { key: "inf", value: { doubleValue: Number.POSITIVE_INFINITY } },
                { key: "ninf", value: { doubleValue: Number.NEGATIVE_INFINITY } },
                { key: "b", value: { bytesValue: "AAECAwQ=" } },
                { key: "b1", value: { bytesValue: "/w==" } },
                { key: "b-empty", value: { bytesValue: "" } },
                {
                  key: "arr",
                  value: {
                    arrayValue: {
                      values: [
                        { stringValue: "x" },
                        { intValue: "3" },
                        { arrayValue: { values: [{ boolValue: true }] } },
                      ],
                    },
                  },
                },
                {
                  key: "kv",
                  value: { kvlistValue: { values: [{ key: "k", value: { doubleValue: 1.5 } }] } },
                },
                { key: "unset", value: {} },
                { key: "no-value" },
              ],
              traceId: TRACE,
              spanId: SPAN,
              flags: 1,
              eventName: "e",
            },
            {},
          ],
        },
      ],
    },
  ],
};

/** ...and what pdata's otlp_json is for it. */
export const allValuesExpected = {
  resourceLogs: [
    {
      resource: {},
      scopeLogs: [
        {
          scope: {},
          logRecords: [
            {
              timeUnixNano: "18446744073709551615",
              severityNumber: 17,
              body: { kvlistValue: { values: [{ key: "nested", value: { arrayValue: {} } }] } },
              attributes: [
                { key: "s", value: { stringValue: "héllo ☃" } },
                { key: "empty-string", value: { stringValue: "" } },
                { key: "t", value: { boolValue: true } },
                { key: "f", value: { boolValue: false } },
                { key: "i", value: { intValue: "-9223372036854775808" } },
                { key: "i-max", value: { intValue: "9223372036854775807" } },
                { key: "i0", value: { intValue: "0" } },
                { key: "d", value: { doubleValue: 637.704 } },
                { key: "d0", value: { doubleValue: 0 } },
                { key: "nan", value: { doubleValue: "NaN" } },
                { key: "inf", value: { doubleValue: "Infinity" } },
                { key: "ninf", value: { doubleValue: "-Infinity" } },
                { key: "b", value: { bytesValue: "AAECAwQ=" } },
                { key: "b1", value: { bytesValue: "/w==" } },
                { key: "b-empty", value: { bytesValue: "" } },
                {
                  key: "arr",
                  value: {
                    arrayValue: {
                      values: [
                        { stringValue: "x" },
                        { intValue: "3" },
                        { arrayValue: { values: [{ boolValue: true }] } },
                      ],
                    },
                  },
                },
                {
                  key: "kv",
                  value: { kvlistValue: { values: [{ key: "k", value: { doubleValue: 1.5 } }] } },
                },
                { key: "unset", value: {} },
                { key: "no-value", value: {} },
              ],
              flags: 1,
              traceId: TRACE,
              spanId: SPAN,
              eventName: "e",
            },
            { body: {} },
          ],
        },
      ],
    },
  ],
};

/** Zero values in spans: pdata omits them, except status (always) and resource/scope. */
export const zeroSpans = {
  resourceSpans: [
    {
      resource: { attributes: [], droppedAttributesCount: 0 },
      scopeSpans: [
        {
          spans: [
            {
              traceId: "00000000000000000000000000000000",
              spanId: "",
              flags: 0,
              kind: 0,
              status: { code: 0, message: "" },
            },
            {
              traceId: TRACE,
              spanId: SPAN,
              traceState: "k=v",
              kind: 3,
              droppedAttributesCount: 2,
              droppedEventsCount: 3,
              droppedLinksCount: 4,
              events: [{ timeUnixNano: "5", name: "ev", droppedAttributesCount: 1 }, {}],
              links: [
                { traceId: TRACE, spanId: SPAN, traceState: "a=b", flags: 256, droppedAttributesCount: 1 },
              ],
              status: { code: 2, message: "boom" },
            },
          ],
          schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
        },
      ],
      schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
    },
  ],
};

export const zeroSpansExpected = {
  resourceSpans: [
    {
      resource: {},
      scopeSpans: [
        {
          scope: {},
          spans: [
            { status: {} },
            {
              traceId: TRACE,
              spanId: SPAN,
              traceState: "k=v",
              kind: 3,
              droppedAttributesCount: 2,
              events: [{ timeUnixNano: "5", name: "ev", droppedAttributesCount: 1 }, {}],
              droppedEventsCount: 3,
              links: [
                { traceId: TRACE, spanId: SPAN, traceState: "a=b", droppedAttributesCount: 1, flags: 256 },
              ],
              droppedLinksCount: 4,
              status: { message: "boom", code: 2 },
            },
          ],
          schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
        },
      ],
      schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
    },
  ],
};
