import { expect } from 'chai';
import { FaultPlan, parseFaultRule } from '../../simulator/faults.js';

describe('simulator fault rules', () => {
  it('parse from the command line', () => {
    expect(parseFaultRule('kind=status,status=429,retry-after=2,path=/users,page=3,times=2')).to.deep.equal({
      kind: 'status',
      status: 429,
      retryAfter: '2',
      path: '/users',
      page: 3,
      times: 2,
      delayMs: undefined,
    });
  });

  it('reject unknown kinds, unknown keys and non-numbers', () => {
    expect(() => parseFaultRule('kind=explode')).to.throw(/kind= one of/);
    expect(() => parseFaultRule('kind=reset,colour=red')).to.throw(/unknown key "colour"/);
    expect(() => parseFaultRule('kind=status,status=abc')).to.throw(/status must be a whole number/);
    expect(() => parseFaultRule('status=503')).to.throw(/kind=/);
  });

  it('match by endpoint and page, and run out after `times`', () => {
    const plan = new FaultPlan([{ kind: 'reset', path: '/tracks', page: 2, times: 2 }]);
    expect(plan.take('/users', 2n)).to.equal(undefined);
    expect(plan.take('/tracks', 1n)).to.equal(undefined);
    expect(plan.take('/tracks', 2n)?.kind).to.equal('reset');
    expect(plan.take('/tracks', 2n)?.kind).to.equal('reset');
    expect(plan.take('/tracks', 2n)).to.equal(undefined);
    plan.add({ kind: 'delay' });
    expect(plan.take('/anything', 9n)?.kind).to.equal('delay');
    plan.clear();
    expect(plan.take('/anything', 9n)).to.equal(undefined);
  });
});
