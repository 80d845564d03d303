/**
 * @module fast-check arbitraries of protobuf field values, for the tests that
 * hold the schema-specific event codecs (src/event-log/event-binary*.ts) to
 * protobuf-es's reflective ones: strings that stress UTF-8 and length
 * prefixes, the edges of int32, uint32 and uint64, timestamps and refs.
 */
import fc from "fast-check";

export const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme" }),
  fc.string({ minLength: 120, maxLength: 300 }),
  fc.constantFrom("", "__proto__", "raw/date=2024-05-01", "é", "\u{1F600}"),
  // Long enough for a two- and a three-byte length.
  fc.integer({ min: 0x3f00, max: 0x4100 }).map((n) => "x".repeat(n)),
);
export const int32 = fc.oneof(fc.integer({ min: -3, max: 9 }), fc.integer({ min: -0x80000000, max: 0x7fffffff }));
export const uint32 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff }));
export const uint64 = fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
export const timestamp = fc
  .record({
    seconds: fc.oneof(
      fc.bigInt({ min: 0n, max: 2_000_000_000n }),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    ),
    nanos: int32,
  })
  .map((t) => ({ $typeName: "google.protobuf.Timestamp" as const, ...t }));
export const ref = text.map((str) => ({ $typeName: "databuild.v1.PartitionRef" as const, str }));
