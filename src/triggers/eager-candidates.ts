/**
 * @module An eager sensor's candidates: the target partitions a landed
 * partition may make ready. A ref matching one of the sensor's `on`
 * patterns gives its parameters to each target pattern (the same names,
 * the same values); target parameters it lacks take each value the sensor
 * lists in `params`.
 */
import { combinations, type EagerSensorDefinition } from "../core/triggers.ts";

/** The target refs that the partition `ref` landing may make ready (none if it matches no `on` pattern). */
export function eagerCandidates(sensor: EagerSensorDefinition, ref: string): string[] {
  const found = new Set<string>();
  for (const on of sensor.on) {
    const bound = on.match(ref);
    if (!bound) continue;
    for (const target of sensor.targets) {
      const unbound = Object.fromEntries(
        target.paramNames.filter((name) => !(name in bound)).map((name) => [name, sensor.params[name] ?? []]),
      );
      for (const combo of combinations(unbound)) {
        const params = { ...bound, ...combo };
        if (target.paramNames.every((name) => params[name] !== undefined)) found.add(target.format(params));
      }
    }
  }
  return [...found];
}

/** The firing key of a target and the inputs that made it ready: each input's ref and the job run that built it. */
export function eagerFiringKey(target: string, inputs: readonly { ref: string; jobRunId: string }[]): string {
  const parts = [...inputs]
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))
    .map((i) => `${i.ref}@${i.jobRunId}`);
  return `${target} <- ${parts.join(" ")}`;
}
