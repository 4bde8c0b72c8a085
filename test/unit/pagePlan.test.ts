import { expect } from 'chai';
import { isCalendarDate, planPageRanges } from '../../workflows/pagePlan.js';

describe('planPageRanges', () => {
  it('covers pages 1..N in consecutive ranges, the last one shorter', () => {
    expect(planPageRanges(12, 5)).to.deep.equal([
      { firstPage: 1, lastPage: 5 },
      { firstPage: 6, lastPage: 10 },
      { firstPage: 11, lastPage: 12 },
    ]);
  });

  it('gives one range per page with a range size of 1, and one range when it is larger than N', () => {
    expect(planPageRanges(3, 1)).to.deep.equal([
      { firstPage: 1, lastPage: 1 },
      { firstPage: 2, lastPage: 2 },
      { firstPage: 3, lastPage: 3 },
    ]);
    expect(planPageRanges(3, 100)).to.deep.equal([{ firstPage: 1, lastPage: 3 }]);
  });

  it('plans nothing for an empty source', () => {
    expect(planPageRanges(0, 5)).to.deep.equal([]);
  });

  it('leaves no page out and repeats none, whatever the sizes', () => {
    for (const pages of [1, 7, 10, 99, 100, 101, 1000]) {
      for (const size of [1, 3, 5, 10, 64]) {
        const covered = planPageRanges(pages, size).flatMap((r) => Array.from({ length: r.lastPage - r.firstPage + 1 }, (_, i) => r.firstPage + i));
        expect(covered).to.deep.equal(Array.from({ length: pages }, (_, i) => i + 1));
      }
    }
  });

  it('rejects negative, fractional and zero arguments', () => {
    expect(() => planPageRanges(-1, 5)).to.throw(RangeError, /pages/);
    expect(() => planPageRanges(2.5, 5)).to.throw(RangeError, /pages/);
    expect(() => planPageRanges(10, 0)).to.throw(RangeError, /pagesPerRange/);
  });
});

describe('isCalendarDate', () => {
  it('accepts real days, leap days included', () => {
    expect(isCalendarDate('2026-11-23')).to.equal(true);
    expect(isCalendarDate('2024-02-29')).to.equal(true);
  });

  it('rejects impossible days and other formats', () => {
    for (const bad of ['2023-02-29', '2026-13-01', '2026-11-31', '2026-1-5', '20261123', '2026-11-23T00:00:00', '']) {
      expect(isCalendarDate(bad), bad).to.equal(false);
    }
  });
});
