/** A currency's formatter and minor-unit digits, built once: building them costs far more than formatting (a receipt per order). */
const formats = new Map<string, { format: Intl.NumberFormat; fractionDigits: number }>();

function formatFor(currency: string): { format: Intl.NumberFormat; fractionDigits: number } {
  const code = currency.toUpperCase();
  let entry = formats.get(code);
  if (!entry) {
    const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: code });
    entry = { format, fractionDigits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    formats.set(code, entry);
  }
  return entry;
}

/**
 * Formats an amount in minor units for display, e.g. (4999, 'usd') -> '$49.99', (500, 'jpy') -> '¥500'.
 * The number of minor-unit digits comes from Intl, so zero-decimal currencies are right.
 */
export function formatAmount(amount: number, currency: string): string {
  const { format, fractionDigits } = formatFor(currency);
  return format.format(amount / 10 ** fractionDigits);
}
