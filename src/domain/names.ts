// One order for names everywhere a person reads a list: numbers inside a
// name count as numbers, so db-3 comes before db-271 and db-311, as an
// engineer counting hosts expects, not as a dictionary would put them.

const collator = new Intl.Collator('en', { numeric: true });

/** Natural order: "db-3" < "db-271" < "db-311". */
export function compareNames(a: string, b: string): number {
  return collator.compare(a, b);
}
