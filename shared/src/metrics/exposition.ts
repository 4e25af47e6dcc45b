/**
 * Prometheus' text exposition format (version 0.0.4) written directly: one family at a time, each sample a line.
 * The agent uses it instead of a client library: rendering from its own counters allocates a few strings per
 * series, where prom-client's registry rebuilt a label map and value objects for every series of every scrape,
 * and the agent's resident memory grew by 3-4 MiB under steady scraping (docs/metrics.md, "Agent memory").
 */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** `{a="1",b="2"}` (values escaped), or "" without labels. */
export function renderLabels(labels: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

const formatValue = (v: number): string =>
  Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v);

/** Collects families and renders them as one exposition. */
export class Exposition {
  private readonly out: string[] = [];

  /** A family: `samples` are [rendered labels, value]; a family without samples still gets HELP and TYPE. */
  family(
    name: string,
    type: MetricType,
    help: string,
    samples: Iterable<readonly [string, number]> = [],
  ): this {
    this.out.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
    for (const [labels, value] of samples) this.out.push(`${name}${labels} ${formatValue(value)}\n`);
    return this;
  }

  /** A histogram family from its series. */
  histogram(name: string, help: string, histogram: LabelledHistogram): this {
    this.out.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} histogram\n`);
    histogram.render(name, this.out);
    return this;
  }

  text(): string {
    return this.out.join("");
  }
}

/** A counter per label set (labels rendered once, when the set is first seen). */
export class LabelledCounter {
  private readonly values = new Map<string, number>();

  inc(labels: Readonly<Record<string, string>>, by = 1): void {
    const key = renderLabels(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  samples(): Iterable<readonly [string, number]> {
    return this.values.entries();
  }
}

interface HistogramSeries {
  /** Label pairs without the braces, for joining with `le`. */
  pairs: string;
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram per label set, with fixed upper bounds. */
export class LabelledHistogram {
  private readonly series = new Map<string, HistogramSeries>();

  constructor(private readonly bounds: readonly number[]) {}

  observe(labels: Readonly<Record<string, string>>, value: number): void {
    const key = renderLabels(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        pairs: key.slice(1, -1),
        counts: new Array<number>(this.bounds.length).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }

  render(name: string, out: string[]): void {
    for (const [key, s] of this.series) {
      const sep = s.pairs === "" ? "" : ",";
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += s.counts[i] ?? 0;
        out.push(`${name}_bucket{le="${formatValue(bound)}"${sep}${s.pairs}} ${cumulative}\n`);
      });
      out.push(`${name}_bucket{le="+Inf"${sep}${s.pairs}} ${s.count}\n`);
      out.push(`${name}_sum${key} ${s.sum}\n`, `${name}_count${key} ${s.count}\n`);
    }
  }
}
