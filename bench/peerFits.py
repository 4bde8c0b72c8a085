"""The Python peers of `npm run bench:train`: fit times at the same settings as ours.

Reads the interactions CSV (user_id,item_id) and the cases bench/trainPeers.ts passes as
JSON, fits each peer once on every row (EASE on the `items` most-liked items only, ties by
the lower item id, as ours selects them) and prints one JSON line per case with its fit
seconds. Data loading is not timed. Two threads for BLAS and implicit, as the machine has.
"""
import json, sys, time, warnings
import numpy as np
import scipy.sparse as sp
import threadpoolctl
from implicit.als import AlternatingLeastSquares
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from peers import rp3beta


def load(path):
    rows = np.loadtxt(path, delimiter=',', skiprows=1, dtype=np.int64, ndmin=2)
    _, users = np.unique(rows[:, 0], return_inverse=True)
    items, cols = np.unique(rows[:, 1], return_inverse=True)
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (users, cols)), shape=(users.max() + 1, len(items)))
    m.data[:] = 1  # binary, as ours counts a pair once
    return m


def most_liked(m, n):
    likes = np.asarray(m.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(len(likes)), -likes))
    return m[:, np.sort(order[:n])].tocsr()


def ease(x, lam, dtype):
    g = (x.T @ x).toarray().astype(dtype)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = p / (-np.diag(p))
    b[np.diag_indices_from(b)] = 0
    return b


def fit(case, m):
    peer, p = case['peer'], case['params']
    if peer == 'implicit-cosine':
        CosineRecommender(K=p['K']).fit(m, show_progress=False)
    elif peer == 'implicit-bm25':
        BM25Recommender(K=p['K'], K1=p['K1'], B=p['B']).fit(m, show_progress=False)
    elif peer == 'implicit-als':
        # implicit's own advice: its threads, not BLAS's (it warns of severe slowdowns otherwise).
        with threadpoolctl.threadpool_limits(1, 'blas'):
            AlternatingLeastSquares(factors=p['factors'], regularization=p['regularization'], alpha=p['alpha'], iterations=p['iterations'], random_state=0).fit(m, show_progress=False)
    elif peer == 'numpy-rp3beta':
        rp3beta(m, p['alpha'], p['beta'], p['topK'])
    elif peer == 'numpy-ease':
        ease(most_liked(m, p['items']), p['lambda'], np.float64 if p['dtype'] == 'float64' else np.float32)
    else:
        raise ValueError(f'unknown peer {peer}')


def main():
    m = load(sys.argv[1])
    for case in json.loads(sys.argv[2]):
        started = time.time()
        fit(case, m)
        print(json.dumps({'case': case['name'], 'peer': case['peer'], 'params': case['params'], 'fit_s': round(time.time() - started, 2)}), flush=True)


if __name__ == '__main__':
    warnings.filterwarnings('ignore', message='Method expects CSR input')
    with threadpoolctl.threadpool_limits(2):
        main()
