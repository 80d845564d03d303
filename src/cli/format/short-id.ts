/**
 * @module Short forms of ids for human output. Ids are UUIDv7, whose leading
 * digits are a timestamp shared by everything made in the same moment, so
 * the short form is the random tail; `databuild logs` accepts it.
 */
export const SHORT_ID_LENGTH = 8;

export function shortId(id: string): string {
  return id.slice(-SHORT_ID_LENGTH);
}
