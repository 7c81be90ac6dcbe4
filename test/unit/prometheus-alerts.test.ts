import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_METRICS, WORKFLOW_COUNTERS } from '../../src/domain/metric-names.js';

interface AlertRule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown };
}

const RULES_FILE = fileURLToPath(new URL('../../docs/prometheus-alerts.yml', import.meta.url));
const rulesFile = parse(readFileSync(RULES_FILE, 'utf8')) as { groups?: Array<{ name?: unknown; rules?: AlertRule[] }> };
const rules = (rulesFile.groups ?? []).flatMap((group) => group.rules ?? []);

/** The service's own metric names, as src/domain/metric-names.ts defines them. */
const EXPORTED = new Set<string>([...Object.values(WORKFLOW_COUNTERS), ...Object.values(API_METRICS)].map((metric) => metric.name));
/** What Prometheus adds to a histogram's (or summary's) name. */
const SUFFIXES = ['_count', '_bucket', '_sum'];
const OUR_METRIC = /\b(?:order_processing_\w+|http_request_duration_seconds\w*)/g;

function isExported(name: string): boolean {
  return EXPORTED.has(name) || SUFFIXES.some((suffix) => name.endsWith(suffix) && EXPORTED.has(name.slice(0, -suffix.length)));
}

describe('docs/prometheus-alerts.yml', () => {
  it('is a rules file: named groups of rules, each with alert, expr, a severity and a summary', () => {
    expect(rulesFile.groups?.length).toBeGreaterThan(0);
    for (const group of rulesFile.groups!) {
      expect(group.name, 'a group without a name').toEqual(expect.any(String));
      expect(group.rules?.length, `group ${String(group.name)} has no rules`).toBeGreaterThan(0);
    }
    for (const rule of rules) {
      const name = String(rule.alert);
      expect(rule.alert, 'a rule without an alert name').toEqual(expect.stringMatching(/^[A-Za-z_]\w*$/));
      expect(rule.expr, `${name}: expr`).toEqual(expect.stringMatching(/\S/));
      expect(rule.annotations?.summary, `${name}: annotations.summary`).toEqual(expect.stringMatching(/\S/));
      expect(rule.labels?.severity, `${name}: labels.severity`).toEqual(expect.stringMatching(/\S/));
      if (rule.for !== undefined) expect(rule.for, `${name}: for`).toMatch(/^\d+[smhdwy]$/);
    }
    const names = rules.map((rule) => rule.alert);
    expect(new Set(names).size, 'alert names must be unique').toBe(names.length);
  });

  it('reads only metrics the service exports (src/domain/metric-names.ts)', () => {
    const used = new Set(rules.flatMap((rule) => String(rule.expr).match(OUR_METRIC) ?? []));
    expect(used.size).toBeGreaterThan(0);
    expect(
      [...used].filter((name) => !isExported(name)),
      'metrics not defined in src/domain/metric-names.ts',
    ).toEqual([]);
    // The check itself: a suffix Prometheus does not add, or a name nobody exports, is caught.
    expect(isExported(`${WORKFLOW_COUNTERS.paid.name}_total`)).toBe(false);
    expect(isExported('order_processing_orders_lost')).toBe(false);
  });
});
