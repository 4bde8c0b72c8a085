import type { Decision, PairedInterval, ScoredModel, Verdict } from '../../contracts/training.js';
/*
 * The promotion rule, as a pure function so that it can be tested on its own and stored
 * with its reasons. A candidate replaces the champion only when, on the same split:
 *  - its NDCG@10 beats the champion's by at least `minUplift` (relative; 0.02 = 2 %), and
 *    by more than noise: the 95 % interval of a paired bootstrap over the test users of
 *    (candidate − champion) NDCG@10 lies above zero (on 10,000 users one standard error is
 *    ~5 % relative at the levels seen, more than the margin itself),
 *  - it beats MostPopular (simple baselines are often hard to beat: a model that does
 *    not is not worth serving),
 *  - its catalogue coverage@20 stays at or above `minCoverage` (a model that recommends
 *    the same handful of tracks to everyone is refused, whatever its accuracy).
 * Among the candidates that pass, the highest NDCG@10 wins (ties: the first listed).
 */

export interface PromotionRules {
  minUplift: number;
  minCoverage: number;
}

export const PROMOTION_METRIC = 'ndcg@10';
export const COVERAGE_METRIC = 'coverage@20';

export function decidePromotion(
  input: { candidates: ScoredModel[]; champion: ScoredModel | null; baseline: ScoredModel; intervals?: Readonly<Record<string, PairedInterval>> },
  rules: PromotionRules,
): Decision {
  const metric = (m: ScoredModel, name: string) => m.metrics[name] ?? 0;
  const fmt = (x: number) => x.toFixed(4);
  const champion = input.champion;
  const verdicts: Verdict[] = [];
  const passed: ScoredModel[] = [];
  const challengers: ScoredModel[] = [];
  for (const c of input.candidates) {
    const reasons: string[] = [];
    const ndcg = metric(c, PROMOTION_METRIC);
    const base = metric(input.baseline, PROMOTION_METRIC);
    const beatsBaseline = ndcg > base;
    reasons.push(`${beatsBaseline ? 'beats' : 'does not beat'} MostPopular: ${PROMOTION_METRIC} ${fmt(ndcg)} vs ${fmt(base)}`);
    const coverage = metric(c, COVERAGE_METRIC);
    const covered = coverage >= rules.minCoverage;
    reasons.push(`${COVERAGE_METRIC} ${fmt(coverage)} ${covered ? '>=' : '<'} guardrail ${rules.minCoverage}`);
    let uplifted = true;
    const interval = input.intervals?.[c.key];
    if (champion && champion.key === c.key) {
      uplifted = false;
      reasons.push('is the champion already');
    } else if (champion) {
      const then = metric(champion, PROMOTION_METRIC);
      const needed = then * (1 + rules.minUplift);
      // 1e-12: 0.2 * 1.02 is 0.20400000000000001 in floating point; +2.0 % must pass at 2 %.
      const clear = interval ? interval.low > 0 : true;
      uplifted = ndcg > then && ndcg >= needed - 1e-12 && clear;
      const change = then > 0 ? `${ndcg >= then ? '+' : ''}${(100 * (ndcg / then - 1)).toFixed(1)} %` : 'from 0';
      const noise = interval
        ? `; paired ${Math.round(interval.level * 100)} % interval of the difference over ${interval.users} users [${signed(interval.low)}, ${signed(interval.high)}]${clear ? '' : ': it reaches 0, the difference may be noise'}`
        : '; no per-user scores to bootstrap: judged on the means';
      reasons.push(
        `${PROMOTION_METRIC} vs champion ${champion.key}: ${fmt(ndcg)} vs ${fmt(then)} (${change}, needs +${(100 * rules.minUplift).toFixed(1)} %)${noise}`,
      );
    } else {
      reasons.push('there is no champion yet');
    }
    const ok = beatsBaseline && covered && uplifted;
    const failed = [beatsBaseline ? null : reasons[0], covered ? null : reasons[1], uplifted ? null : reasons[2]].filter((r): r is string => Boolean(r));
    verdicts.push({ key: c.key, passed: ok, reasons, failed, ...(interval ? { interval } : {}) });
    if (ok) passed.push(c);
    // A challenger improves on the champion, if short of the uplift: an equal one has nothing to show.
    else if (beatsBaseline && covered && (!champion || (champion.key !== c.key && ndcg > metric(champion, PROMOTION_METRIC)))) challengers.push(c);
  }
  const best = (list: ScoredModel[]) =>
    list.reduce<ScoredModel | null>((b, m) => (b === null || metric(m, PROMOTION_METRIC) > metric(b, PROMOTION_METRIC) ? m : b), null);
  const promoted = best(passed);
  const challenger = promoted ? null : best(challengers);
  const summary = promoted
    ? `promoted ${promoted.key} (${PROMOTION_METRIC} ${fmt(metric(promoted, PROMOTION_METRIC))}${champion ? ` over champion ${champion.key} ${fmt(metric(champion, PROMOTION_METRIC))}` : ', first champion'})`
    : input.candidates.length === 0
      ? 'no candidate was trained: nothing promoted'
      : `nothing promoted: ${champion ? `champion ${champion.key} stays` : 'no candidate passed'} (${verdicts.map((v) => `${v.key}: ${v.failed.join(', ')}`).join('; ')})`;
  return { promoted: promoted?.key ?? null, challenger: challenger?.key ?? null, summary, verdicts };
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
