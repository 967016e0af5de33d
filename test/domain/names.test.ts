import { describe, expect, it } from 'vitest';
import { compareNames } from '../../src/domain/names.js';

describe('names in natural order', () => {
  it('counts the numbers inside names as numbers', () => {
    expect(['db-311', 'db-3', 'db-271', 'db-27a', 'cass-10', 'cass-9'].sort(compareNames)).toEqual(['cass-9', 'cass-10', 'db-3', 'db-27a', 'db-271', 'db-311']);
  });
});
