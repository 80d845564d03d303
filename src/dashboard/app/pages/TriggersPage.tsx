/** /triggers: schedules and sensors with their last and next ticks; pause and resume (an admin token). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { client } from "../lib/api.ts";
import { ms } from "../lib/format.ts";
import { triggerOutcomeWord } from "../lib/status.ts";
import { Badge, BuildLink, ErrorBox, Loading, Time } from "../components/common.tsx";

export function TriggersPage() {
  const queries = useQueryClient();
  const triggers = useQuery({
    queryKey: ["triggers"],
    queryFn: ({ signal }) => client.listTriggers({}, { signal }),
    refetchInterval: 5_000,
  });
  const toggle = useMutation({
    mutationFn: ({ name, paused }: { name: string; paused: boolean }) =>
      paused ? client.resumeTrigger({ trigger: name }) : client.pauseTrigger({ trigger: name }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["triggers"] }),
  });
  if (triggers.error) return <ErrorBox error={triggers.error} />;
  if (!triggers.data) return <Loading what="triggers" />;
  const list = triggers.data.triggers;
  return (
    <section>
      <h1>Triggers</h1>
      {toggle.error && <ErrorBox error={toggle.error} />}
      {list.length === 0 ? (
        <p className="muted">The graph declares no triggers.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Trigger</th>
              <th>When</th>
              <th>Requests</th>
              <th>Last tick</th>
              <th>Next tick</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => {
              const [outcome, tone] = triggerOutcomeWord(t.lastOutcome);
              return (
                <tr key={t.name}>
                  <td>
                    <strong>{t.name}</strong>
                    <div className="muted">
                      {t.kind}
                      {t.definedAt ? ` · ${t.definedAt}` : ""}
                    </div>
                  </td>
                  <td>
                    {t.cron ? (
                      <>
                        <code>{t.cron}</code> {t.timeZone}
                        {t.catchUpLimit > 0 && <div className="muted">catches up {t.catchUpLimit} missed ticks</div>}
                      </>
                    ) : (
                      <span className="muted">on data</span>
                    )}
                  </td>
                  <td>
                    <code>{t.description}</code>
                  </td>
                  <td>
                    <Time value={ms(t.lastTick)} /> {outcome && <Badge tone={tone}>{outcome}</Badge>}{" "}
                    {t.lastBuildRequestId && <BuildLink id={t.lastBuildRequestId} />}
                    {t.lastMessage && <div className="muted">{t.lastMessage}</div>}
                  </td>
                  <td>
                    <Time value={ms(t.nextTick)} />
                  </td>
                  <td>
                    {t.paused ? <Badge tone="warn">paused</Badge> : <Badge tone="ok">active</Badge>}{" "}
                    <button
                      type="button"
                      disabled={toggle.isPending}
                      onClick={() => toggle.mutate({ name: t.name, paused: t.paused })}
                    >
                      {t.paused ? `Resume ${t.name}` : `Pause ${t.name}`}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <p className="muted">Pausing and resuming needs a token with the admin scope.</p>
    </section>
  );
}
