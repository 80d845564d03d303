/**
 * The frame of every page: navigation, the session's token, and keyboard
 * shortcuts ("/" search, "g" then p, b, j or t to go to a page).
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, useSyncExternalStore, type FormEvent } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { getToken, onTokenChange, setToken } from "../lib/api.ts";

const GO_TO: Record<string, string> = { p: "/partitions", b: "/builds", j: "/jobs", t: "/triggers" };

function useShortcuts() {
  const navigate = useNavigate();
  useEffect(() => {
    let pendingG = false;
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (target.closest("input, textarea, select, [contenteditable]")) return;
      if (event.key === "/") {
        const search = document.querySelector<HTMLInputElement>("input[type=search]");
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        } else navigate("/partitions");
        return;
      }
      if (pendingG && GO_TO[event.key]) {
        event.preventDefault();
        navigate(GO_TO[event.key]!);
      }
      pendingG = event.key === "g";
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate]);
}

function TokenForm() {
  const token = useSyncExternalStore(onTokenChange, getToken);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState("");
  const queries = useQueryClient();
  const save = (event: FormEvent) => {
    event.preventDefault();
    setToken(draft.trim());
    setDraft("");
    setEditing(false);
    void queries.invalidateQueries();
  };
  if (!editing) {
    return (
      <div className="token">
        <span className="muted">{token ? `token ${token.slice(0, 8)}…` : "no token"}</span>
        <button type="button" onClick={() => setEditing(true)}>
          {token ? "Change token" : "Enter token"}
        </button>
        {token && (
          <button type="button" onClick={() => (setToken(""), void queries.invalidateQueries())}>
            Forget
          </button>
        )}
      </div>
    );
  }
  return (
    <form className="token" onSubmit={save}>
      <label htmlFor="token-input">Token</label>
      <input
        id="token-input"
        type="password"
        autoComplete="off"
        autoFocus
        placeholder="dbt_…"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && setEditing(false)}
      />
      <button type="submit">Use token</button>
    </form>
  );
}

export function Layout() {
  useShortcuts();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/partitions" className="brand">
          databuild
        </NavLink>
        <nav aria-label="Pages">
          <NavLink to="/partitions">Partitions</NavLink>
          <NavLink to="/builds">Builds</NavLink>
          <NavLink to="/jobs">Jobs</NavLink>
          <NavLink to="/triggers">Triggers</NavLink>
        </nav>
        <TokenForm />
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="muted">
        Keys: <kbd>/</kbd> search · <kbd>g</kbd> <kbd>p</kbd> partitions · <kbd>g</kbd> <kbd>b</kbd> builds ·{" "}
        <kbd>g</kbd> <kbd>j</kbd> jobs · <kbd>g</kbd> <kbd>t</kbd> triggers
      </footer>
    </>
  );
}
