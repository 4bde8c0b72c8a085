"""The Python peers of `npm run bench:quality`, tuned the same honest way as ours.

Reads the split bench/quality.ts wrote (train.csv and test.csv: user index, item index, each
user's training rows in their order), carves a validation item per user from the training
part (the user's last training row), searches each peer's grid on it, refits the best on
the whole training part and scores it once on the test items. Prints one JSON line per
family. NDCG@10 and HR@10 as ours: every item ranked, the user's training items excluded.
"""
import json, sys, time
import numpy as np
import scipy.sparse as sp
import threadpoolctl
from implicit.als import AlternatingLeastSquares
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

GRIDS = {
    'most-popular': [{}],
    'implicit-cosine': [{'K': k} for k in (50, 200, 1000, 2000)],
    'implicit-bm25': [{'K': k, 'K1': 1.2, 'B': 0.75} for k in (50, 200, 1000, 2000)],
    'implicit-als': [{'factors': f, 'regularization': r, 'alpha': a, 'iterations': 15} for f in (64, 128) for r in (0.01, 0.1, 1.0) for a in (1.0, 10.0, 40.0)],
    'rp3beta': [{'alpha': a, 'beta': b, 'topK': 100} for a in (0.5, 1.0) for b in (0.2, 0.3, 0.5, 0.7)],
}


def load(path, shape):
    rows = np.loadtxt(path, delimiter=',', dtype=np.int64, ndmin=2)
    return rows


def matrix(rows, shape):
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows[:, 0], rows[:, 1])), shape=shape)
    m.data[:] = 1  # binary: duplicates count once, as our scorer does
    return m


def carve(rows):
    """Each user's last row held out (every row of that item leaves training), as leave-last-out does."""
    users = rows[:, 0]
    last = np.zeros(len(rows), bool)
    _, pos = np.unique(users[::-1], return_index=True)
    last[len(rows) - 1 - pos] = True
    held = {(u, i) for u, i in rows[last]}
    keep = np.array([(u, i) not in held for u, i in rows])
    qualifies = set(rows[keep][:, 0])
    test = np.array([r for r in rows[last] if r[0] in qualifies]).reshape(-1, 2)
    train = np.concatenate([rows[keep], np.array([r for r in rows[last] if r[0] not in qualifies]).reshape(-1, 2)])
    return train, test


def rp3beta(train, alpha, beta, topK):
    n_items = train.shape[1]
    pui = sp.diags(1 / np.maximum(np.asarray(train.sum(axis=1)).ravel(), 1)) @ train
    xb = train.T.tocsr()
    pop = np.asarray(xb.sum(axis=1)).ravel()
    degree = np.where(pop > 0, np.power(np.maximum(pop, 1), -beta), 0.0)
    piu = sp.diags(1 / np.maximum(pop, 1)) @ xb
    if alpha != 1:
        pui = pui.power(alpha)
        piu = piu.power(alpha)
    rows, cols, vals = [], [], []
    for start in range(0, n_items, 500):
        block = (piu[start:start + 500] @ pui).toarray() * degree[None, :]
        for r in range(block.shape[0]):
            block[r, start + r] = 0
            best = np.argpartition(-block[r], min(topK, n_items - 1))[:topK]
            best = best[block[r, best] > 0]
            rows.extend([start + r] * len(best)); cols.extend(best); vals.extend(block[r, best])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items))


def ranked(scores, train_row_items, k=10):
    scores[train_row_items] = -np.inf
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top], kind='stable')]


def metrics(lists, test):
    ndcg = hr = 0.0
    for (u, item), top in zip(test, lists):
        hit = np.where(top == item)[0]
        if len(hit):
            hr += 1
            ndcg += 1 / np.log2(hit[0] + 2)
    return ndcg / len(test), hr / len(test)


def evaluate(name, params, train, test):
    started = time.time()
    users = test[:, 0]
    if name == 'most-popular':
        pop = np.asarray(train.sum(axis=0)).ravel().astype(np.float64)
        fit = time.time() - started
        lists = [ranked(pop.copy(), train[u].indices) for u in users]
    elif name == 'rp3beta':
        w = rp3beta(train, params['alpha'], params['beta'], params['topK'])
        fit = time.time() - started
        lists = [ranked(np.asarray((train[u] @ w).todense()).ravel().astype(np.float64), train[u].indices) for u in users]
    else:
        model = {'implicit-cosine': CosineRecommender, 'implicit-bm25': BM25Recommender}.get(name)
        model = model(**params) if model else AlternatingLeastSquares(random_state=0, **params)
        # implicit's own advice for ALS: its threads, not BLAS's (it warns of severe slowdowns otherwise).
        with threadpoolctl.threadpool_limits(1 if name == 'implicit-als' else 2, 'blas'):
            model.fit(train, show_progress=False)
        fit = time.time() - started
        ids, _ = model.recommend(users, train[users], N=10, filter_already_liked_items=True)
        lists = list(ids)
    ndcg, hr = metrics(lists, test)
    return ndcg, hr, fit


def main():
    split_dir, families, budget = sys.argv[1], sys.argv[2].split(','), float(sys.argv[3])
    shape = tuple(json.load(open(f'{split_dir}/shape.json')))
    train_rows = load(f'{split_dir}/train.csv', shape)
    test = load(f'{split_dir}/test.csv', shape)
    val_train_rows, val = carve(train_rows)
    train, val_train = matrix(train_rows, shape), matrix(val_train_rows, shape)
    for name in families:
        tried, started = [], time.time()
        for params in GRIDS[name]:
            if tried and time.time() - started >= budget:
                break
            ndcg, _, _ = evaluate(name, params, val_train, val)
            tried.append({'params': params, 'validation_ndcg10': ndcg})
            print(json.dumps({'progress': name, **tried[-1]}), file=sys.stderr, flush=True)
        best = max(tried, key=lambda t: t['validation_ndcg10'])
        ndcg, hr, fit = evaluate(name, best['params'], train, test)
        print(json.dumps({'side': 'peer', 'family': name, 'chosen': best['params'], 'validation_ndcg10': best['validation_ndcg10'], 'test_ndcg10': ndcg, 'test_hr10': hr, 'fit_s': round(fit, 1), 'tried': len(tried), 'grid': len(GRIDS[name])}), flush=True)


if __name__ == '__main__':
    with threadpoolctl.threadpool_limits(2):
        main()
