// The fleet GUI's two classic scripts share `window`: usage.js defines IotFogUsage, app.js calls it. Checked by
// vim-driver/tsconfig.gui.json (vim-driver/test/gui-typecheck.test.ts); not served with the GUI.

/** The fleet API caller app.js hands to usage.js: a JSON request, the parsed reply. */
type GuiApiCall = (method: string, path: string, body?: unknown) => Promise<unknown>;

interface IotFogUsageApi {
  /** A node card's usage block (sparklines, latest figures), redrawn in place by the poller. */
  nodeBlock(nodeId: string): HTMLElement;
  /** The CPU and memory cells of a replica's row, from the nodes of GET /nodes. */
  replicaCells(nodes: unknown[], replica: unknown): HTMLElement[];
  /** Polls GET /usage and keeps the sparklines current. */
  start(api: GuiApiCall): Promise<void>;
  /** A byte count in binary units ("12.3 MiB"), "-" when unknown. */
  bytes(n: number | null | undefined): string;
}

interface Window {
  IotFogUsage: IotFogUsageApi;
}
