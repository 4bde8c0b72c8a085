import { expect } from 'chai';
import { decodeItems, encodeItems, itemsJson, type RecommendedItem } from '../../stores/recommendedItems.js';
import { itemsOf, servedList, sparesOf, type RecommendationDocument } from '../../stores/recommendations.js';

const list: RecommendedItem[] = [
  { track_id: 101, score: 0.532187, reason: 'similar', because: [7, 12, 9] },
  { track_id: 340, score: 0.41, reason: 'popular', because: [] },
  { track_id: 5, score: -0.000123, reason: 'cold_start_genre', because: [] },
  { track_id: 9007199254740, score: 12, reason: 'taste', because: [1] },
];

const doc = (items: string, spares?: string): RecommendationDocument => ({
  _id: '1',
  user_id: 1,
  batch_id: 'b',
  model: 'm',
  computed_in: 'b',
  cold_start: false,
  count: 2,
  items,
  ...(spares === undefined ? {} : { spares }),
});

describe('a stored recommendation list', () => {
  it('is text with nothing JSON escapes, and reads back as the same list', () => {
    const text = encodeItems(list);
    expect(text).to.equal('101:0.532187:similar:7,12,9;340:0.41:popular:;5:-0.000123:cold_start_genre:;9007199254740:12:taste:1');
    expect(JSON.stringify(text)).to.equal(`"${text}"`);
    expect(decodeItems(text)).to.deep.equal(list);
    expect(encodeItems([])).to.equal('');
    expect(decodeItems('')).to.deep.equal([]);
  });

  it('serves as the same JSON, keys in the same order, whichever format a document holds', () => {
    const json = JSON.stringify(list);
    expect(itemsJson(encodeItems(list))).to.equal(json);
    // Lists written before are JSON text: read and served as they are.
    expect(itemsJson(json)).to.equal(json);
    expect(decodeItems(json)).to.deep.equal(list);
    expect(itemsJson('')).to.equal('[]');
  });

  it('masks tracks in either format, moving spares up, and stores the result as text', () => {
    for (const stored of [
      doc(encodeItems(list.slice(0, 2)), encodeItems(list.slice(2))),
      doc(JSON.stringify(list.slice(0, 2)), JSON.stringify(list.slice(2))),
    ]) {
      expect(itemsOf(stored)).to.deep.equal(list.slice(0, 2));
      expect(sparesOf(stored)).to.deep.equal(list.slice(2));
      const served = servedList(stored, new Set([340]));
      expect(served).to.deep.include({
        count: 2,
        items: encodeItems([list[0] as RecommendedItem, list[2] as RecommendedItem]),
        spares: encodeItems(list.slice(3)),
      });
      // Nothing masked it holds: the document as stored.
      expect(servedList(stored, new Set([999]))).to.equal(stored);
    }
    expect(sparesOf(doc(''))).to.deep.equal([]);
  });
});
