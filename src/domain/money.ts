/**
 * Formats an amount in minor units for display, e.g. (4999, 'usd') -> '$49.99', (500, 'jpy') -> '¥500'.
 * The number of minor-unit digits comes from Intl, so zero-decimal currencies are right.
 */
export function formatAmount(amount: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
  const fractionDigits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** fractionDigits);
}
