#!/usr/bin/python3
"""Helper of tests/cli/tabular_accept.sh (run with Debian's /usr/bin/python3).

  split  TABLE.csv LABEL PREFIX SEED [COLUMN=VALUE]
      Shuffle TABLE.csv's rows (seeded), hold out a stratified quarter as
      PREFIX-test.csv (R's column order) and deal the rest to 4 institutions
      PREFIX-0..3.csv with label skew (site k holds share (k + 1) / 10 of the
      first class and (4 - k) / 10 of the second) and its own column order
      (site 0 keeps R's order; the schema drafted there fixes the features).
      Rows with COLUMN=VALUE go to the other sites only, so that site 0's
      draft lacks that category and the merge has to add it.
  merge  OUT.ini DRAFT0.ini DRAFT1.ini ...
      The consortium's merge of the sites' drafts (docs/tables.md section 3):
      every category list and the class list become the sorted union of the
      drafts' lists, numeric columns are imputed by their median (like the
      reference below), the "; private" lines go.
  sklearn  PREFIX LABEL
      The centralized reference on the pooled training rows of PREFIX-0..3:
      ColumnTransformer(numeric: SimpleImputer(median) + StandardScaler;
      categorical: SimpleImputer(most_frequent) + OneHotEncoder) +
      LogisticRegression, then the ROC AUC on PREFIX-test.csv (P of the
      second class in sorted order, as fedsilo's class 1).  Prints the AUC.
"""
import csv
import random
import re
import sys

MISSING = {"", "NA", "N/A", "NaN", "null", "?"}


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write(path, header, rows, order):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([header[j] for j in order])
        w.writerows([[r[j] for j in order] for r in rows])


def split(table, label, prefix, seed, away=None):
    header, rows = read(table)
    rng = random.Random(int(seed))
    rng.shuffle(rows)
    li = header.index(label)
    classes = sorted({r[li] for r in rows})
    assert len(classes) == 2, classes
    parts = [[] for _ in range(4)]
    test = []
    share = {classes[0]: [1, 2, 3, 4], classes[1]: [4, 3, 2, 1]}  # tenths per site
    for c in classes:
        rc = [r for r in rows if r[li] == c]
        nt = len(rc) // 4
        test += rc[:nt]
        tr = rc[nt:]
        lo = 0
        for k in range(4):
            hi = len(tr) if k == 3 else lo + len(tr) * share[c][k] // 10
            parts[k] += tr[lo:hi]
            lo = hi
    if away:
        col, val = away.split("=", 1)
        ai = header.index(col)
        moved = [r for r in parts[0] if r[ai] == val]
        parts[0] = [r for r in parts[0] if r[ai] != val]
        for i, r in enumerate(moved):
            parts[1 + i % 3].append(r)
    rng.shuffle(test)
    order = list(range(len(header)))
    write(prefix + "-test.csv", header, test, order)
    for k in range(4):
        rng.shuffle(parts[k])
        o = list(order)
        if k:
            random.Random(100 + k).shuffle(o)
        write("%s-%d.csv" % (prefix, k), header, parts[k], o)
        print("%s-%d.csv: %d rows, %s" % (prefix, k, len(parts[k]), ", ".join(
            "%d %s" % (sum(r[li] == c for r in parts[k]), c) for c in classes)))


def merge(out, drafts):
    lists = {}  # (section, key) -> union of the drafts' lists
    for d in drafts:
        sec = None
        for line in open(d):
            m = re.match(r"\[(.*)\]", line)
            if m:
                sec = m.group(1)
            m = re.match(r"(categories|classes) = (.*)", line.rstrip("\n"))
            if m:
                lists.setdefault((sec, m.group(1)), set()).update(
                    v.strip() for v in m.group(2).split(","))
    res, sec, kind = [], None, None
    for line in open(drafts[0]):
        line = line.rstrip("\n")
        if line.startswith("; private") or re.match(r"; \d+ categories seen here", line):
            continue
        m = re.match(r"\[(.*)\]", line)
        if m:
            sec, kind = m.group(1), None
        m = re.match(r"kind = (\w+)", line)
        if m:
            kind = m.group(1)
        m = re.match(r"(categories|classes) = ", line)
        if m:
            line = "%s = %s" % (m.group(1), ", ".join(sorted(lists[(sec, m.group(1))])))
        if kind == "numeric" and line.startswith("impute ="):
            line = "impute = median"
        res.append(line)
    with open(out, "w") as f:
        f.write("\n".join(res) + "\n")


def sklearn(prefix, label):
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def load(path, cols=None):
        header, rows = read(path)
        cols = cols or [c for c in header if c != label]
        X = [[None if r[header.index(c)] in MISSING else r[header.index(c)] for c in cols]
             for r in rows]
        return cols, X, [r[header.index(label)] for r in rows]

    cols, Xte, yte = load(prefix + "-test.csv")
    Xtr, ytr = [], []
    for k in range(4):
        _, X, y = load("%s-%d.csv" % (prefix, k), cols)
        Xtr += X
        ytr += y
    num = [j for j, c in enumerate(cols)
           if all(r[j] is None or re.fullmatch(r"-?[0-9.eE+-]+", r[j]) for r in Xtr + Xte)]
    cat = [j for j in range(len(cols)) if j not in num]

    def matrix(X):
        A = np.empty((len(X), len(cols)), dtype=object)
        for i, r in enumerate(X):
            for j in range(len(cols)):
                v = r[j]
                A[i, j] = (np.nan if v is None else float(v)) if j in num else \
                          (np.nan if v is None else v)
        return A

    ct = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), cat)])
    model = make_pipeline(ct, LogisticRegression(max_iter=5000))
    classes = sorted(set(ytr))
    model.fit(matrix(Xtr), np.array([classes.index(v) for v in ytr]))
    p = model.predict_proba(matrix(Xte))[:, 1]
    print("%.6f" % roc_auc_score(np.array([classes.index(v) for v in yte]), p))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "split":
        split(*sys.argv[2:7])
    elif cmd == "merge":
        merge(sys.argv[2], sys.argv[3:])
    elif cmd == "sklearn":
        sklearn(*sys.argv[2:4])
    else:
        sys.exit("unknown command " + cmd)
