#!/usr/bin/env python3
"""Reference for `budare-central eval cmapss`: the same task done the common
scikit-learn way, for the speed and quality comparison in `make bench`.

Task: label = the engine fails within 30 cycles (RUL <= 30); train on every
cycle of the training engines; judge each test engine at its last cycle.
Model: standardised raw settings and sensors of the cycle, plus their rolling
mean and standard deviation over the last 5 cycles (the Azure predictive
maintenance template's features), logistic regression, threshold 0.5.

usage: sklearn_lr.py [--data DIR] [--subset FD001] [--json]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

COLS = ["unit", "cycle", "s1", "s2", "s3"] + [f"m{i}" for i in range(1, 22)]
HORIZON = 30
ROLL = 5


def read(path):
    df = pd.read_csv(path, sep=r"\s+", header=None, names=COLS)
    return df


def add_features(df):
    feats = [c for c in COLS[5:] if df[c].std() > 0]
    roll = df.groupby("unit")[feats].rolling(ROLL, min_periods=1)
    mean = roll.mean().reset_index(level=0, drop=True)
    std = roll.std().reset_index(level=0, drop=True).fillna(0)
    df = df.join(mean.add_suffix("_av")).join(std.add_suffix("_sd"))
    return df


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "testdata"))
    ap.add_argument("--subset", default="FD001")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    t0 = time.time()
    train = read(os.path.join(a.data, f"train_{a.subset}.txt.gz"))
    test = read(os.path.join(a.data, f"test_{a.subset}.txt.gz"))
    rul = pd.read_csv(os.path.join(a.data, f"RUL_{a.subset}.txt.gz"), header=None, names=["rul"])

    train["rul"] = train.groupby("unit")["cycle"].transform("max") - train["cycle"]
    train = add_features(train)
    test = add_features(test)
    feats = [c for c in train.columns if c not in ("unit", "cycle", "rul") and train[c].std() > 0]

    last = test.groupby("unit").tail(1).reset_index(drop=True)
    y_test = (rul["rul"].values <= HORIZON).astype(int)

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(train[feats].values, (train["rul"] <= HORIZON).astype(int).values)
    p = clf.predict_proba(last[feats].values)[:, 1]
    pred = (p >= 0.5).astype(int)
    out = {
        "subset": a.subset,
        "technique": "sklearn-logistic",
        "f1": f1_score(y_test, pred),
        "auc": roc_auc_score(y_test, p),
        "precision": precision_score(y_test, pred, zero_division=0),
        "recall": recall_score(y_test, pred),
        "n": int(len(y_test)),
        "seconds": time.time() - t0,
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(" ".join(f"{k}={v}" for k, v in out.items()))


if __name__ == "__main__":
    sys.exit(main())
