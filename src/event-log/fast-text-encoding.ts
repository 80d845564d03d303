/**
 * @module ASCII fast paths for protobuf-es's string encoding. Refs, labels and
 * ids are short ASCII strings, and TextEncoder/TextDecoder cost about 2 µs
 * per call here, more than the rest of encoding an event; a plain loop is 6x
 * faster for them. Anything non-ASCII goes through the standard codecs.
 */
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

const SHORT = 64;
let installed = false;

/** Installs the fast paths once per process (protobuf-es's setting is global). */
export function installFastTextEncoding(): void {
  if (installed) return;
  installed = true;
  const standard = getTextEncoding();
  configureTextEncoding({
    encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
      const length = text.length;
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code > 0x7f) return standard.encodeUtf8(text) as Uint8Array<ArrayBuffer>;
        bytes[i] = code;
      }
      return bytes;
    },
    decodeUtf8(bytes: Uint8Array): string {
      if (bytes.length > SHORT) return standard.decodeUtf8(bytes);
      let text = "";
      for (let i = 0; i < bytes.length; i++) {
        const byte = bytes[i]!;
        if (byte > 0x7f) return standard.decodeUtf8(bytes);
        text += String.fromCharCode(byte);
      }
      return text;
    },
    checkUtf8(text: string): boolean {
      for (let i = 0; i < text.length; i++) {
        // Only lone surrogates make a string unencodable; leave those to the standard check.
        const code = text.charCodeAt(i);
        if (code >= 0xd800 && code <= 0xdfff) return standard.checkUtf8(text);
      }
      return true;
    },
  });
}
