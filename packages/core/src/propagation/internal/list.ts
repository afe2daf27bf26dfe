/**
 * Bounded walk over a comma-separated header list (RFC 9110 §5.6.1), used for `tracestate` and
 * `baggage`.
 *
 * A header that arrived on several lines is one list: the lines are treated as if joined with `,`
 * (RFC 9110 §5.3), so the byte budget applies to the combination. Only members that end within the
 * first `budget` characters of the combined value are visited; a member crossing the boundary is never
 * visited (no partial members), and nothing after it is looked at. The walk uses `indexOf` over at most
 * `budget + 1` characters and allocates nothing per member, so the cost is O(budget) whatever the input.
 * Header strings from Node are latin1, one character per byte, so characters and bytes coincide.
 */

/** Called with the member's raw bounds `[start, end)` inside `line` (OWS not trimmed). Return false to stop. */
export type ListMemberVisitor = (line: string, start: number, end: number) => boolean;

/** `done`: the whole list was visited; `stopped`: the visitor stopped; `budget`: the budget was reached. */
export type ListScanOutcome = 'done' | 'stopped' | 'budget';

export function scanList(value: unknown, budget: number, visit: ListMemberVisitor): ListScanOutcome {
  if (typeof value === 'string') return scanLine(value, budget, visit);
  if (!Array.isArray(value)) return 'done';
  let used = 0;
  for (let i = 0; i < value.length; i++) {
    // The `,` that joins this line to the previous one.
    if (i > 0) used += 1;
    if (used > budget) return 'budget';
    const line: unknown = value[i];
    if (typeof line !== 'string') continue;
    const outcome = scanLine(line, budget - used, visit);
    if (outcome !== 'done') return outcome;
    used += line.length;
  }
  return 'done';
}

function scanLine(line: string, remaining: number, visit: ListMemberVisitor): ListScanOutcome {
  // With a cut, keep one character past the budget: a `,` there still closes a member that fits.
  const cut = line.length > remaining;
  const s = cut ? line.slice(0, remaining + 1) : line;
  let start = 0;
  for (;;) {
    const comma = s.indexOf(',', start);
    if (comma === -1) {
      if (cut) return 'budget';
      return visit(s, start, s.length) ? 'done' : 'stopped';
    }
    if (!visit(s, start, comma)) return 'stopped';
    start = comma + 1;
  }
}
