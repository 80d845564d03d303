/**
 * @module Ctrl-C for the commands that plan or build. The first SIGINT or
 * SIGTERM aborts the returned signal: the command stops its config commands
 * (their whole process groups) and its jobs, records what it must, and
 * exits 1. A second one exits at once with 130; config commands still
 * running are killed as databuild exits (src/manifest/process-group.ts).
 * Config commands run in process groups of their own, so a Ctrl-C at the
 * terminal reaches them only through this.
 */

export interface Interrupts {
  /** Aborted, with a reason naming the signal, at the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Stops listening (the command is done). */
  dispose(): void;
}

/** Listens for SIGINT and SIGTERM; at the first one writes `notice` to `stderr` and aborts. */
export function handleInterrupts(stderr: { write(text: string): unknown }, notice: string): Interrupts {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++received > 1) process.exit(130);
    // A closed terminal (SIGHUP) has nowhere to show the notice.
    if (signal !== "SIGHUP") stderr.write(`\n${notice} (press Ctrl-C again to exit at once)\n`);
    controller.abort(`interrupted (${signal})`);
  };
  // SIGHUP too: config commands run in sessions of their own, so a closed terminal would not stop them.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
    },
  };
}
