/** The dashboard's entry: the routes (SPEC 3.10's URLs are a contract) and the query cache. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { Layout } from "./components/Layout.tsx";
import { BuildPage } from "./pages/BuildPage.tsx";
import { BuildsPage } from "./pages/BuildsPage.tsx";
import { JobRunPage } from "./pages/JobRunPage.tsx";
import { JobsPage } from "./pages/JobsPage.tsx";
import { NotFoundPage } from "./pages/NotFoundPage.tsx";
import { PartitionPage } from "./pages/PartitionPage.tsx";
import { PartitionsPage } from "./pages/PartitionsPage.tsx";
import { TriggersPage } from "./pages/TriggersPage.tsx";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 1_000 } },
});

const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: "/", element: <Navigate to="/partitions" replace /> },
      { path: "/partitions", element: <PartitionsPage /> },
      // A splat, not ":ref": a ref holds "/" (sent encoded as %2F, but accepted either way).
      { path: "/partitions/*", element: <PartitionPage /> },
      { path: "/builds", element: <BuildsPage /> },
      { path: "/builds/:id", element: <BuildPage /> },
      { path: "/job-runs/:id", element: <JobRunPage /> },
      { path: "/jobs", element: <JobsPage /> },
      { path: "/triggers", element: <TriggersPage /> },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
